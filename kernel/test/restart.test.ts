// Restarts: a module whose start function fails on re-instantiation never takes the process down
// (every restart that fails backs off and retries), and a spent restart budget does not leave a
// module failed for good: it keeps coming back at the longest backoff.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Kernel, type Tier } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { corpusModule } from './wat.js';

/** Its start function traps when the clock answers a real time: the test arms it by moving the clock. */
const ARMED_START = corpusModule('armed-start');

describe.each<Tier>(['inline', 'worker'])('restarts, %s tier', (tier) => {
  let kernel: Kernel | undefined;
  afterEach(() => kernel?.stop());

  it('survives a start function that traps on every restart, and comes back once it no longer does', async () => {
    let now = 5; // {ok: 5} is 5 bytes: the start function passes
    kernel = new Kernel({
      trust: [trusted],
      providers: { clock: { now: () => now } },
      restart: { failureThreshold: 1, backoffMs: 5, maxBackoffMs: 20, maxRestarts: 2 },
    });
    const states: string[] = [];
    kernel.on('transition', (e) => states.push(e.to));
    const m = await kernel.load(ARMED_START.bytes, { isolation: tier, grants: ARMED_START.grants });
    now = 1_700_000_000_000; // from now on every instantiation traps
    await expect(kernel.call('corpus.armed-start', 'trap', new Uint8Array(0))).rejects.toMatchObject({ code: 'ETRAP' });
    // The restarts fail, again and again, past the budget: the process lives and the module stays failed.
    await vi.waitFor(() => expect(m.meter.snapshot().restarts).toBeGreaterThanOrEqual(4), { timeout: 30_000, interval: 20 });
    expect(m.state).toBe('failed');
    await expect(kernel.call('corpus.armed-start', 'ok', new Uint8Array(0))).rejects.toMatchObject({ code: 'ESTATE' });
    now = 5;
    await vi.waitFor(() => expect(m.state).toBe('running'), { timeout: 30_000, interval: 20 });
    await expect(kernel.call('corpus.armed-start', 'ok', new Uint8Array(0))).resolves.toHaveLength(0);
    expect(states.filter((s) => s === 'failed')).toHaveLength(1); // failed once, retried from there
  });

  it('keeps retrying at the longest backoff once the restart budget is spent', async () => {
    kernel = new Kernel({ trust: [trusted], restart: { failureThreshold: 1, backoffMs: 5, maxBackoffMs: 30, maxRestarts: 1, windowMs: 60_000 } });
    const m = await kernel.load(await signed('hostile'), { isolation: tier });
    for (let i = 0; i < 3; i++) {
      await vi.waitFor(() => expect(m.state).toBe('running'), { timeout: 30_000, interval: 10 });
      await expect(kernel.call('test.hostile', 'trap', new Uint8Array(0))).rejects.toMatchObject({ code: 'ETRAP' });
      expect(m.state).toBe('failed');
    }
    await vi.waitFor(() => expect(m.state).toBe('running'), { timeout: 30_000, interval: 10 });
    await expect(kernel.call('test.hostile', 'ok', new Uint8Array([1]))).resolves.toEqual(new Uint8Array([1]));
  });
});
