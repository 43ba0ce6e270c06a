/**
 * The context of one operation: its id, agent, intent and logical time. Inside an operation
 * `clock` answers the logical time and `random` a stream derived from the op id, so replaying an
 * operation gives the same result.
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** What every hook and host function knows about the operation in progress. */
export interface Operation {
  /** Unique id; replays reuse it. */
  id: string;
  agent: string;
  intent: string;
  /** Logical time in ms since the epoch, fixed for the whole operation. */
  time: number;
  /**
   * What caused it, 32 bytes (ABI 1.2): for a signed rpc request, the SHA-256 of its envelope.
   * Hooks get it as `op.cause`; absent for an operation with no such cause.
   */
  cause?: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Deterministic bytes for one module inside one operation: SHA-256 in counter mode over
 * ("mcp0.random/v1", op id, module name, counter). Not a secret key source: the op id is known.
 * @example
 * const r = new OperationRandom(op.id, 'mcp0.hello'); r.bytes(8)
 */
export class OperationRandom {
  readonly #seed: Uint8Array;
  #counter = 0;

  constructor(opId: string, moduleName: string) {
    this.#seed = encoder.encode(`mcp0.random/v1\0${opId}\0${moduleName}\0`);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    const block = new Uint8Array(this.#seed.length + 4);
    block.set(this.#seed);
    const view = new DataView(block.buffer);
    for (let pos = 0; pos < n; pos += 32) {
      view.setUint32(this.#seed.length, this.#counter++);
      out.set(sha256(block).subarray(0, Math.min(32, n - pos)), pos);
    }
    return out;
  }
}
