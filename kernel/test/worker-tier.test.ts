// The worker tier through the kernel: asynchronous providers, providers that fail or never answer,
// large payloads across the thread boundary. (The guest thread driven directly, with host functions
// that misbehave, is tested in @mcp0/sandbox: sandbox/test/guest-thread.test.ts.)
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallError, decodeCbor, encodeCbor } from '@mcp0/abi';
import { Kernel, type KvProvider } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { TestKv } from './memory-kv.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A kv store that answers every request later, as a remote database does; `mode` changes how. */
class SlowKv implements KvProvider {
  readonly inner = new TestKv();
  mode: 'slow' | 'reject' | 'hang' = 'slow';
  awaited = 0;

  async #later<T>(f: () => T): Promise<T> {
    if (this.mode === 'hang') return new Promise<T>(() => undefined);
    await sleep(2);
    this.awaited++;
    if (this.mode === 'reject') throw new CallError('EUNAVAILABLE', 'the database is down');
    return f();
  }

  get(ns: string, key: string) {
    return this.#later(() => this.inner.get(ns, key));
  }
  put(ns: string, key: string, value: Uint8Array) {
    return this.#later(() => this.inner.put(ns, key, value));
  }
  delete(ns: string, key: string) {
    return this.#later(() => this.inner.delete(ns, key));
  }
  scan(ns: string, prefix: string, limit: number, after?: string) {
    return this.#later(() => this.inner.scan(ns, prefix, limit, after));
  }
}

describe('worker tier through the kernel', () => {
  let kernel: Kernel;
  const kv = new SlowKv();
  const grants = [{ name: 'call' as const }, { name: 'crypto' as const }, { name: 'emit' as const }, { name: 'kv' as const }];

  beforeAll(async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv }, restart: { failureThreshold: 100 } });
    await kernel.load(await signed('hostile'), { isolation: 'worker', maxOutputBytes: 4 << 20 });
    await kernel.load(await signed('caps'), { isolation: 'worker', grants, timeoutMs: 500, maxOutputBytes: 4 << 20 });
  });
  afterAll(() => kernel.stop());

  it('waits for an asynchronous provider on every host call', async () => {
    kv.mode = 'slow';
    const before = kv.awaited;
    expect(await kernel.callValue('test.caps', 'keys', { n: 5 })).toEqual(['caps/1', 'caps/2', 'caps/3', 'caps/4']);
    // 5 puts, 1 delete, 3 scans (two pages of two, then an empty one).
    expect(kv.awaited - before).toBe(9);
  });

  it("hands a provider's rejection to the guest as its typed error", async () => {
    kv.mode = 'reject';
    await expect(kernel.callValue('test.caps', 'keys', { n: 1 })).rejects.toMatchObject({
      code: 'EUNAVAILABLE',
      message: expect.stringContaining('database is down'),
    });
    kv.mode = 'slow';
    // The store keeps the keys of the test before: caps/1..4.
    expect(await kernel.callValue('test.caps', 'keys', { n: 2 })).toEqual(['caps/1', 'caps/2', 'caps/3', 'caps/4']);
  });

  it('terminates a call whose provider never answers, and serves the next call', async () => {
    kv.mode = 'hang';
    // The timeout ends it (how soon depends on the machine's load: not asserted here).
    await expect(kernel.callValue('test.caps', 'keys', { n: 1 })).rejects.toMatchObject({ code: 'ETIMEOUT' });
    kv.mode = 'slow';
    expect(await kernel.callValue('test.caps', 'keys', { n: 6 })).toEqual(['caps/1', 'caps/2', 'caps/3', 'caps/4', 'caps/5']);
    expect(kernel.metrics()['test.caps']!.restarts).toBeGreaterThan(0);
  });

  it('moves large payloads through a host call in both directions', async () => {
    // (Extism's guest ABI copies 8 bytes per call, so bigger payloads only make the test slow.)
    const data = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    // Request bytes: the guest sends 1 MiB to the host's sha256.
    expect(decodeCbor(await kernel.call('test.caps', 'digest', encodeCbor({ data })))).toEqual(sha256(data));
    // Response bytes: the host answers the guest's `call` with 256 KiB, which the guest relays out.
    const input = data.subarray(0, 256 << 10);
    expect(await kernel.call('test.caps', 'relay', encodeCbor({ target: 'test.hostile', export: 'ok', input }))).toEqual(input);
  });

  it("reports the guest's memory to metering", async () => {
    await kernel.call('test.hostile', 'ok', new Uint8Array([1]));
    const pages = kernel.metrics()['test.hostile']!.memoryPages;
    expect(pages).toBeGreaterThan(0);
    expect(Number.isInteger(pages)).toBe(true);
  });
});
