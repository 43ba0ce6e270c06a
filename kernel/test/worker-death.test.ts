// A guest thread that dies by itself (crashed, or killed from outside the kernel) fails its module
// at once, idle or in the middle of a call, and the restart policy brings the module back. The
// threads are killed here through the Worker objects the kernel created, which the mock records.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallError, parseGrant } from '@mcp0/abi';
import { Kernel, type KvProvider, type TransitionEvent } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { workers } from '../../test/worker-recorder.js';

vi.mock('node:worker_threads', async (original) => (await import('../../test/worker-recorder.js')).recording(await original()));

/** A kv whose writes never answer, so a call can be caught in the middle. */
const hangingKv: KvProvider = {
  get: () => undefined,
  put: () => new Promise<never>(() => undefined),
  delete: () => false,
  scan: () => [],
};

let kernel: Kernel | undefined;
afterEach(async () => {
  await kernel?.stop();
  kernel = undefined;
});

function transitions(k: Kernel, name: string): TransitionEvent[] {
  const seen: TransitionEvent[] = [];
  k.on('transition', (e) => e.module === name && seen.push(e));
  return seen;
}

/** Waits (polling, up to 10 s) for the module to reach `state`. */
const reaches = (k: Kernel, name: string, state: string) => vi.waitFor(() => expect(k.module(name).state).toBe(state), { timeout: 10_000, interval: 5 });

describe('a guest thread that dies by itself', () => {
  it('fails its module when it dies idle; the restart policy brings the module back', async () => {
    kernel = new Kernel({ trust: [trusted], restart: { backoffMs: 20 } });
    const seen = transitions(kernel, 'mcp0.hello');
    await kernel.load(await signed('hello'), { isolation: 'worker', grants: ['kv', 'clock', 'random'].map(parseGrant) });
    expect(await kernel.callValue('mcp0.hello', 'greet', { name: 'before' })).toBe('hello, before');

    await workers.at(-1)!.terminate();
    await reaches(kernel, 'mcp0.hello', 'failed');
    expect(seen.find((e) => e.to === 'failed')!.reason).toMatch(/worker thread died: the guest thread exited/);
    await expect(kernel.callValue('mcp0.hello', 'greet', { name: 'x' })).rejects.toMatchObject({ code: 'ESTATE' });

    await reaches(kernel, 'mcp0.hello', 'running');
    expect(await kernel.callValue('mcp0.hello', 'greet', { name: 'after' })).toBe('hello, after');
    expect(kernel.module('mcp0.hello').meter.snapshot().restarts).toBe(1);
  });

  it('fails the call it dies in with ETRAP saying so, and fails the module', async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: hangingKv }, restart: { backoffMs: 20 } });
    const seen = transitions(kernel, 'test.caps');
    await kernel.load(await signed('caps'), { isolation: 'worker', grants: ['call', 'crypto', 'emit', 'kv'].map(parseGrant), timeoutMs: 30_000 });
    const pending = kernel.callValue('test.caps', 'keys', { n: 1 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100)); // the guest is now blocked on its first kv put
    await workers.at(-1)!.terminate();

    const error = await pending;
    expect(error).toBeInstanceOf(CallError);
    expect(error).toMatchObject({ code: 'ETRAP', details: { workerDied: true } });
    expect((error as CallError).message).toContain('worker thread died during the call');
    expect(seen.filter((e) => e.to === 'failed')).toHaveLength(1);
    await reaches(kernel, 'test.caps', 'running');
  });

  it('is not a death when the kernel itself ends the thread (timeout, unload)', async () => {
    kernel = new Kernel({ trust: [trusted], restart: { backoffMs: 20 } });
    const seen = transitions(kernel, 'test.hostile');
    await kernel.load(await signed('hostile'), { isolation: 'worker', timeoutMs: 200 });
    await expect(kernel.callValue('test.hostile', 'loop', null)).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(kernel.module('test.hostile').state).toBe('running');
    await kernel.unload('test.hostile');
    expect(seen.map((e) => e.to)).not.toContain('failed');
  });
});
