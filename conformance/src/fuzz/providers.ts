/**
 * The providers behind the fuzzed modules' capabilities: in memory, synchronous (the inline tier
 * needs synchronous answers) and bounded. Fuzzed modules write random keys and blocks for as long
 * as the campaign runs; without a bound the providers' own growth would show up as the host
 * holding memory, which is the thing the campaign measures. Past its bound a store forgets its
 * oldest entries, which no module can tell from another module's deletes.
 */
import { createHash } from 'node:crypto';
import { CallError } from '@mcp0/abi';
import { systemClock, systemRandom, type BlockProvider, type KvProvider, type NetProvider, type Providers } from '@mcp0/kernel';

/** A Map that drops its oldest entries past `maxEntries` or `maxBytes` of values. */
class BoundedMap<V extends { length: number }> {
  readonly #map = new Map<string, V>();
  #bytes = 0;
  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {}

  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    this.delete(key);
    this.#map.set(key, value);
    this.#bytes += value.length;
    while (this.#map.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const oldest = this.#map.keys().next().value as string;
      this.delete(oldest);
    }
  }
  delete(key: string): boolean {
    const old = this.#map.get(key);
    if (old === undefined) return false;
    this.#bytes -= old.length;
    return this.#map.delete(key);
  }
  keys(): IterableIterator<string> {
    return this.#map.keys();
  }
}

/** kv for every namespace in one bounded map (namespace and key joined by a NUL). */
export class BoundedKv implements KvProvider {
  readonly #map = new BoundedMap<Uint8Array>(20_000, 64 << 20);

  get(ns: string, key: string): Uint8Array | undefined {
    return this.#map.get(`${ns}\0${key}`);
  }
  put(ns: string, key: string, value: Uint8Array): void {
    this.#map.set(`${ns}\0${key}`, new Uint8Array(value));
  }
  delete(ns: string, key: string): boolean {
    return this.#map.delete(`${ns}\0${key}`);
  }
  scan(ns: string, prefix: string, limit: number, after?: string): [string, Uint8Array][] {
    const start = `${ns}\0${prefix}`;
    const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const keys = [...this.#map.keys()]
      .filter((k) => k.startsWith(start))
      .map((k) => k.slice(ns.length + 1))
      .filter((k) => after === undefined || byBytes(k, after) > 0)
      .sort(byBytes)
      .slice(0, limit);
    return keys.map((k) => [k, this.#map.get(`${ns}\0${k}`)!]);
  }
}

/** Content-addressed blocks and refs, bounded like the kv. */
export class BoundedBlocks implements BlockProvider {
  readonly #blocks = new BoundedMap<Uint8Array>(20_000, 64 << 20);
  readonly #refs = new BoundedMap<{ root: Uint8Array; version: number; length: number }>(10_000, 1 << 20);

  put(blocks: Uint8Array[]): Uint8Array[] {
    return blocks.map((b) => {
      const id = new Uint8Array(createHash('sha256').update(b).digest());
      const key = Buffer.from(id).toString('hex');
      if (this.#blocks.get(key) === undefined) this.#blocks.set(key, new Uint8Array(b));
      return id;
    });
  }
  get(id: Uint8Array): Uint8Array | undefined {
    return this.#blocks.get(Buffer.from(id).toString('hex'));
  }
  has(ids: Uint8Array[]): boolean[] {
    return ids.map((id) => this.get(id) !== undefined);
  }
  refGet(ns: string, name: string): { root: Uint8Array; version: number } | undefined {
    const r = this.#refs.get(`${ns}\0${name}`);
    return r && { root: r.root, version: r.version };
  }
  refCas(ns: string, name: string, expect: number, root: Uint8Array): number {
    const current = this.#refs.get(`${ns}\0${name}`)?.version ?? 0;
    if (current !== expect) throw new CallError('ECONFLICT', `ref ${name}: expected version ${expect}, found ${current}`, { expect, current });
    this.#refs.set(`${ns}\0${name}`, { root: new Uint8Array(root), version: current + 1, length: root.length + 64 });
    return current + 1;
  }
}

/** A transport that accepts and drops every message. */
const sink: NetProvider = { send: () => undefined };

/**
 * Every provider a fuzzed module can reach, fresh and bounded.
 * @example
 * const kernel = new Kernel({ trust, providers: fuzzProviders() })
 */
export function fuzzProviders(): Providers {
  return { kv: new BoundedKv(), blocks: new BoundedBlocks(), net: sink, clock: systemClock, random: systemRandom };
}
