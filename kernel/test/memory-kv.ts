/**
 * The kv provider of the kernel's tests: a small Map over namespaces. The kernel ships no store
 * (the SDK's MemoryStore is the in-memory one), and kernel tests cannot import the SDK, which sits
 * above the kernel; this one keeps to what KvProvider promises: copies in, scans in UTF-8 byte
 * order of the keys (as every store sorts), strictly after `after`, at most `limit`.
 */
import type { KvProvider } from '@mcp0/kernel';

/**
 * A volatile, synchronous kv for tests (so inline-tier modules can use it too).
 * @example
 * const kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } })
 */
export class TestKv implements KvProvider {
  readonly #spaces = new Map<string, Map<string, Uint8Array>>();

  get(namespace: string, key: string): Uint8Array | undefined {
    return this.#spaces.get(namespace)?.get(key);
  }

  put(namespace: string, key: string, value: Uint8Array): void {
    let space = this.#spaces.get(namespace);
    if (!space) this.#spaces.set(namespace, (space = new Map()));
    space.set(key, new Uint8Array(value));
  }

  delete(namespace: string, key: string): boolean {
    return this.#spaces.get(namespace)?.delete(key) ?? false;
  }

  scan(namespace: string, prefix: string, limit: number, after?: string): [string, Uint8Array][] {
    const space = this.#spaces.get(namespace) ?? new Map<string, Uint8Array>();
    // JS string order is UTF-16's, which differs from UTF-8's past U+FFFF.
    const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return [...space.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || byBytes(k, after) > 0))
      .sort(byBytes)
      .slice(0, limit)
      .map((k) => [k, space.get(k)!]);
  }
}
