/**
 * Fault injection into stores, for tests and conformance runs only. A store opened with `faults`
 * (in its options, or `openStore`'s) calls these hooks at the points they name; one opened without
 * them cannot be damaged this way, since nothing on the store itself exposes a way in. Shipped code
 * that injects faults (the conformance suites) opens a store of its own for the purpose.
 */
import type { MaybePromise } from '@mcp0/kernel';

/**
 * The ways to damage an open store, handed to `StoreFaults.opened`.
 * @example
 * let damage!: StoreDamage
 * const store = new MemoryStore({ faults: { opened: (d) => (damage = d) } })
 * await damage.corruptBlock(id, new Uint8Array([0])) // store.blocks.get(id) now throws EINTERNAL
 */
export interface StoreDamage {
  /**
   * Writes `bytes` under block `id` without hashing, as bit rot in the store's medium would (a
   * copy the store cached is dropped), so the next read of `id` must refuse them with EINTERNAL.
   * Writing the block's own bytes back repairs it.
   */
  corruptBlock(id: Uint8Array, bytes: Uint8Array): MaybePromise<void>;
}

/**
 * Hooks through which a test or a conformance run injects faults into the store it opens.
 * @example
 * let lost = 1
 * const store = await MongoStore.connect(uri, { faults: {
 *   afterWrite: () => { if (lost-- > 0) throw new MongoNetworkError('reply lost') }, // the next write's reply is lost
 * } })
 */
export interface StoreFaults {
  /** Called once, when the store is open, with the ways to damage it: keep them to inject faults later. */
  opened?(damage: StoreDamage): void;
  /**
   * MongoStore only: called before each request is sent to the server (each attempt of a retried
   * one), with the operation's name. What it throws fails that attempt unsent and is handled as
   * the driver's error would be: a MongoNetworkError is retried as a lost connection.
   */
  beforeRequest?(op: string): void;
  /**
   * MongoStore only: called after the server applied a write (not a read), before the store sees
   * the reply. What it throws replaces the reply, as a connection lost after the write would.
   */
  afterWrite?(op: string): void;
}
