// The worker tier's own guest thread: asynchronous providers, providers that fail or never
// answer, large payloads across the thread boundary, and the guest thread driven directly with
// host functions that misbehave.
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallError, HOST_FUNCTIONS, decodeCbor, encodeCbor } from '@mcp0/abi';
import { Kernel, MemoryKv, type KvProvider } from '@mcp0/kernel';
import { capMemory } from '../src/memory-cap.js';
import { GuestFailure, GuestStartTimeout, GuestThread, type HostFn } from '../src/worker/thread.js';
import { signed, trusted, unsigned } from '../../test/fixtures.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A kv store that answers every request later, as a remote database does; `mode` changes how. */
class SlowKv implements KvProvider {
  readonly inner = new MemoryKv();
  mode: 'slow' | 'reject' | 'hang' = 'slow';
  awaited = 0;

  async #later<T>(f: () => T): Promise<T> {
    if (this.mode === 'hang') return new Promise<T>(() => undefined);
    await sleep(2);
    this.awaited++;
    if (this.mode === 'reject') throw new CallError('EUNAVAILABLE', 'the database is down');
    return f();
  }

  get(ns: string, key: string) { return this.#later(() => this.inner.get(ns, key)); }
  put(ns: string, key: string, value: Uint8Array) { return this.#later(() => this.inner.put(ns, key, value)); }
  delete(ns: string, key: string) { return this.#later(() => this.inner.delete(ns, key)); }
  scan(ns: string, prefix: string, limit: number, after?: string) { return this.#later(() => this.inner.scan(ns, prefix, limit, after)); }
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

  it('hands a provider\'s rejection to the guest as its typed error', async () => {
    kv.mode = 'reject';
    await expect(kernel.callValue('test.caps', 'keys', { n: 1 })).rejects.toMatchObject({ code: 'EUNAVAILABLE', message: expect.stringContaining('database is down') });
    kv.mode = 'slow';
    // The store keeps the keys of the test before: caps/1..4.
    expect(await kernel.callValue('test.caps', 'keys', { n: 2 })).toEqual(['caps/1', 'caps/2', 'caps/3', 'caps/4']);
  });

  it('terminates a call whose provider never answers, and serves the next call', async () => {
    kv.mode = 'hang';
    const started = performance.now();
    await expect(kernel.callValue('test.caps', 'keys', { n: 1 })).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(performance.now() - started).toBeLessThan(5000);
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

  it('reports the guest\'s memory to metering', async () => {
    await kernel.call('test.hostile', 'ok', new Uint8Array([1]));
    const pages = kernel.metrics()['test.hostile']!.memoryPages;
    expect(pages).toBeGreaterThan(0);
    expect(Number.isInteger(pages)).toBe(true);
  });
});

describe('guest thread driven directly', () => {
  let compiled: WebAssembly.Module;
  const threads: GuestThread[] = [];
  const logs: string[] = [];

  /** Every mcp0 host function answering `fn`, the rest of the table untouched. */
  async function start(fn: HostFn, hostBytesPerCall = 1 << 20): Promise<GuestThread> {
    const table = Object.fromEntries(Object.keys(HOST_FUNCTIONS).map((name) => [name, fn]));
    const thread = await GuestThread.start({ compiled, functions: { 'mcp0:abi/v1': table }, hostBytesPerCall, onLog: (_, m) => logs.push(m) });
    threads.push(thread);
    return thread;
  }

  beforeAll(async () => {
    compiled = new WebAssembly.Module(capMemory(await unsigned('hostile'), 64));
  });
  afterAll(() => Promise.all(threads.map((t) => t.terminate())));

  it('refuses to start a module whose host functions are missing', async () => {
    const e = await GuestThread.start({ compiled, functions: {}, hostBytesPerCall: 1 << 20, onLog: () => undefined }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestFailure);
    expect((e as GuestFailure).message).toMatch(/mcp0:abi\/v1|import/i);
  });

  it('terminates a module whose start function never returns', async () => {
    // (module (func $spin (loop (br 0))) (start $spin))
    const spin = new WebAssembly.Module(new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 8, 1, 0, 10, 9, 1, 7, 0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b,
    ]));
    const started = performance.now();
    const e = await GuestThread.start({ compiled: spin, functions: {}, hostBytesPerCall: 1 << 20, startTimeoutMs: 1000, onLog: () => undefined }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestStartTimeout);
    expect((e as Error).message).toContain('1000 ms');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('traps only the call whose host function throws, then serves the next one', async () => {
    const thread = await start(() => {
      throw new Error('provider exploded');
    });
    const e = await thread.call('denied', new Uint8Array(0)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestFailure);
    expect((e as GuestFailure).message).toContain('provider exploded');
    expect(await thread.call('ok', new Uint8Array([9, 8]))).toEqual(new Uint8Array([9, 8]));
  });

  it('wakes the guest when a host function answers something that cannot cross threads', async () => {
    const thread = await start(async () => () => 0n);
    const e = await thread.call('denied', new Uint8Array(0)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestFailure);
    expect((e as GuestFailure).message).toMatch(/cannot reach the guest thread/);
  });

  it('gives the guest the block a host function stored, by its real handle', async () => {
    const thread = await start((ctx, handle) => {
      const request = decodeCbor(ctx.read(handle)!.bytes()) as { key: string };
      ctx.store(new Uint8Array([0xff])); // a decoy: the guest must get the block returned, not this one
      return ctx.store(encodeCbor({ err: { code: 'EPERM', message: `no ${request.key}` } }));
    });
    expect(decodeCbor((await thread.call('denied', new Uint8Array(0)))!)).toBe('EPERM');
  });

  it('holds the host allocation budget per call and reports it', async () => {
    const thread = await start(() => 0n, 4096);
    const e = await thread.call('huge', encodeCbor(8192)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestFailure);
    expect((e as GuestFailure).hostBytesExceeded).toBe(true);
    // The budget is per call: the next call starts from zero.
    expect(await thread.call('huge', encodeCbor(3000))).toHaveLength(3000);
    expect(await thread.call('huge', encodeCbor(3000))).toHaveLength(3000);
  });

  it('reports its memory with a trap at the memory cap', async () => {
    const thread = await start(() => 0n);
    const e = await thread.call('bomb', new Uint8Array(0)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestFailure);
    // The cap is 64 pages; the allocator doubles, so the failing grow leaves over half in use.
    expect((e as GuestFailure).memoryBytes).toBeGreaterThan(32 * 65536);
    expect((e as GuestFailure).memoryBytes).toBeLessThanOrEqual(64 * 65536);
    expect((e as GuestFailure).hostBytesExceeded).toBe(false);
  });

  it('stops at once when terminated during a host call that never answers', async () => {
    const thread = await start(() => new Promise(() => undefined));
    const pending = thread.call('denied', new Uint8Array(0)).catch((x: unknown) => x);
    await sleep(50);
    const started = performance.now();
    await thread.terminate();
    const e = await pending;
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/terminated/);
    expect(performance.now() - started).toBeLessThan(2000);
    await expect(thread.call('ok', new Uint8Array(1))).rejects.toThrow(/terminated/);
  });
});
