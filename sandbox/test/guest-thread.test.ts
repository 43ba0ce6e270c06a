// The worker tier's guest thread driven directly, without the kernel: host functions that throw,
// answer what cannot cross threads, store decoys, never answer; the host memory budget and the
// memory cap as the thread reports them; start functions that never return.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_FUNCTIONS, decodeCbor, encodeCbor } from '@mcp0/abi';
import { capMemory } from '../src/extism/memory-cap.js';
import { GuestFailure, GuestStartTimeout, GuestThread, type HostFn } from '../src/worker/thread.js';
import { unsigned } from '../../test/fixtures.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('guest thread driven directly', () => {
  let compiled: WebAssembly.Module;
  const threads: GuestThread[] = [];
  const logs: string[] = [];

  /** Every mcp0 host function answering `fn`, the rest of the table untouched. */
  async function start(fn: HostFn, hostBytesPerCall = 1 << 20): Promise<GuestThread> {
    const table = Object.fromEntries(Object.keys(HOST_FUNCTIONS).map((name) => [name, fn]));
    const thread = await GuestThread.start({
      name: 'test.hostile',
      compiled,
      memoryPages: 64,
      functions: { 'mcp0:abi/v1': table },
      hostBytesPerCall,
      onLog: (_, m) => logs.push(m),
    });
    threads.push(thread);
    return thread;
  }

  beforeAll(async () => {
    compiled = new WebAssembly.Module(capMemory(await unsigned('hostile'), 64) as Uint8Array<ArrayBuffer>);
  });
  afterAll(() => Promise.all(threads.map((t) => t.terminate())));

  it('refuses to start a module whose host functions are missing', async () => {
    const e = await GuestThread.start({
      name: 'test.hostile',
      compiled,
      memoryPages: 64,
      functions: {},
      hostBytesPerCall: 1 << 20,
      onLog: () => undefined,
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestFailure);
    expect((e as GuestFailure).message).toMatch(/mcp0:abi\/v1|import/i);
  });

  it('terminates a module whose start function never returns', async () => {
    // (module (func $spin (loop (br 0))) (start $spin))
    const spin = new WebAssembly.Module(
      new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 8, 1, 0, 10, 9, 1, 7, 0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b]),
    );
    const e = await GuestThread.start({
      name: 'test.spin',
      compiled: spin,
      memoryPages: 1,
      functions: {},
      hostBytesPerCall: 1 << 20,
      startTimeoutMs: 1000,
      onLog: () => undefined,
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GuestStartTimeout);
    // The instantiation bound ended it, not the thread's own start-up bound (10 s).
    expect(e).toMatchObject({ timeoutMs: 1000, phase: 'instantiation' });
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
    expect((e as GuestFailure).error).toMatchObject({ code: 'EMEMORY', details: { limit: 4096 } });
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
    expect((e as GuestFailure).error).toBeUndefined();
  });

  it('stops at once when terminated during a host call that never answers', async () => {
    const thread = await start(() => new Promise(() => undefined));
    const pending = thread.call('denied', new Uint8Array(0)).catch((x: unknown) => x);
    await sleep(50);
    await thread.terminate();
    // The pending call settles (with the termination) instead of waiting for the host for ever.
    const e = await pending;
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/terminated/);
    await expect(thread.call('ok', new Uint8Array(1))).rejects.toThrow(/terminated/);
  });
});
