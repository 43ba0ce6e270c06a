/**
 * The CallContext a host function sees when its guest runs in a guest thread: it reads the
 * request blocks the guest thread sent along, and records the blocks the function stores, which
 * the guest thread then stores for real. It is the part of Extism's CallContext our host
 * functions use (read, store, length); the rest refuses, since guest memory is on another thread.
 */

/** The block bytes `read` returns: the part of Extism's PluginOutput our host functions use. */
class BlockView {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** @example new BlockView(new Uint8Array([1])).bytes() */
  bytes(): Uint8Array {
    return this.#bytes;
  }

  /** @example new BlockView(new TextEncoder().encode('hi')).text() // 'hi' */
  text(): string {
    return new TextDecoder().decode(this.#bytes);
  }

  /** @example new BlockView(new TextEncoder().encode('hi')).string() // 'hi' */
  string(): string {
    return this.text();
  }
}

/**
 * Placeholder handles for stored blocks: index 0xFFFF of Extism's address space (the block index
 * sits in the top 16 bits), which no real table of a live guest reaches.
 */
const PLACEHOLDER_BASE = 0xffffn << 48n;

/**
 * A host call's view of guest memory, on the main thread.
 * @example
 * const ctx = new ProxyContext([[handle, requestBytes]])
 * ctx.read(handle)?.bytes() // requestBytes
 * const h = ctx.store(responseBytes) // a placeholder; ctx.stored holds [h, responseBytes]
 */
export class ProxyContext {
  readonly #blocks: Map<bigint, Uint8Array>;
  /** Blocks stored during the call, by placeholder handle. */
  readonly stored: [bigint, Uint8Array][] = [];

  constructor(blocks: [bigint, Uint8Array][]) {
    this.#blocks = new Map(blocks);
  }

  /** @example ctx.read(handle)?.bytes() */
  read(addr: bigint | number): BlockView | null {
    const bytes = this.#blocks.get(BigInt(addr)) ?? this.#storedAt(BigInt(addr));
    return bytes ? new BlockView(bytes) : null;
  }

  /** @example ctx.store(new Uint8Array([1])) */
  store(input: string | Uint8Array): bigint {
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    const handle = PLACEHOLDER_BASE + BigInt(this.stored.length);
    this.stored.push([handle, bytes]);
    return handle;
  }

  /** @example ctx.length(handle) // 0n when it is not a block */
  length(addr: bigint): bigint {
    return BigInt(this.read(addr)?.byteLength ?? 0);
  }

  /** Guest memory is on the guest thread: a host function cannot allocate there directly. */
  alloc(): bigint {
    throw new Error('alloc is not available to host functions of the worker tier; use store');
  }

  /** Extism variables are not proxied (no host function of ours uses them). */
  getVariable(): null {
    return null;
  }

  /** @example ctx.setVariable('k', 'v') // throws */
  setVariable(): bigint {
    throw new Error('Extism variables are not available to host functions of the worker tier');
  }

  #storedAt(addr: bigint): Uint8Array | undefined {
    const i = addr - PLACEHOLDER_BASE;
    return i >= 0n && i < BigInt(this.stored.length) ? this.stored[Number(i)]![1] : undefined;
  }
}
