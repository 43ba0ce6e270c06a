// An operation's cutoff (its deadline, its caller's cancellation): a step still waiting for its
// module when the cutoff comes never runs, the caller gets ETIMEOUT with details.cutoff, hooks that
// admitted it observe it as denied, and nothing is traced. None of these cases depends on timing:
// the module is held by a call that runs until its own time limit, longer than any cutoff here.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Kernel, isCutoff } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { TestKv } from './memory-kv.js';

describe('an operation cut before it began', () => {
  let kernel: Kernel;
  const seen = (m: string) => kernel.callValue(m, 'seen', {}) as Promise<{ count: number; last: string | null }>;
  const calls = () => kernel.metrics()['test.hostile']!.calls;
  const op = (intent: string, extra: { deadline?: number; signal?: AbortSignal } = {}) =>
    kernel.execute({ agent: 'test.hostile', intent, input: new Uint8Array(0), ...extra });

  beforeEach(async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    // gate-a admits and observes; gate-c only observes, as the trace does.
    for (const name of ['gate-a', 'gate-c']) await kernel.load(await signed('gate'), { name, grants: [{ name: 'kv' }] });
    await kernel.load(await signed('hostile'), { isolation: 'worker', timeoutMs: 300 });
    kernel.setPipeline({ admit: ['gate-a'], observe: ['gate-a', 'gate-c'] });
  });
  afterEach(() => kernel.stop());

  it('does not run when its deadline has passed, and no hook hears of it', async () => {
    const e = await op('ok', { deadline: Date.now() - 1 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ETIMEOUT', details: { cutoff: 'deadline' } });
    expect(isCutoff(e)).toBe(true);
    expect(calls()).toBe(0);
    expect(await seen('gate-a')).toEqual({ count: 0, last: null });
    expect(await seen('gate-c')).toEqual({ count: 0, last: null });
  });

  it('leaves the queue when cancelled: the export never runs, the admitting hook observes it denied', async () => {
    const busy = op('loop'); // holds test.hostile until its 300 ms limit
    const controller = new AbortController();
    const waiting = op('ok', { signal: controller.signal });
    // Wait until the second operation is past its admit hook and queued on test.hostile.
    await expect.poll(() => kernel.metrics()['gate-a']!.calls, { timeout: 60_000, interval: 5 }).toBe(2);
    controller.abort();
    const e = await waiting.catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ETIMEOUT', details: { cutoff: 'cancelled' } });
    await expect(busy).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(calls()).toBe(1); // the loop only
    // gate-a: the loop (error) and the cut one (denied: give back); gate-c, like the trace: the loop only.
    expect(await seen('gate-c')).toEqual({ count: 1, last: 'error' });
    expect((await seen('gate-a')).count).toBe(2);
    // The module serves the next call.
    expect((await op('ok')).outcome.status).toBe('ok');
  });

  it('is cut by its deadline while it waits for a busy module', async () => {
    const busy = op('loop');
    await expect.poll(() => kernel.metrics()['gate-a']!.calls, { timeout: 60_000, interval: 5 }).toBe(1);
    const e = await op('ok', { deadline: Date.now() + 20 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ETIMEOUT', details: { cutoff: 'deadline' } });
    // Whether its timer fired while the loop held the module or the loop ended first, it never ran.
    await expect(busy).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(calls()).toBe(1);
    expect(await seen('gate-c')).toEqual({ count: 1, last: 'error' });
  });

  it('is refused with a typed error for a deadline or signal of the wrong type', async () => {
    await expect(op('ok', { deadline: Number.NaN })).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(op('ok', { signal: {} as AbortSignal })).rejects.toMatchObject({ code: 'EUSAGE' });
    expect(calls()).toBe(0);
  });

  it('does not cut a step that began: it ends, and is observed', async () => {
    kernel.setPipeline({ admit: [], observe: ['gate-c'] });
    const controller = new AbortController();
    // With no admit hook the export takes the free module at once, before the abort below.
    const running = op('ok', { signal: controller.signal });
    controller.abort();
    expect((await running).outcome.status).toBe('ok');
    expect(await seen('gate-c')).toEqual({ count: 1, last: 'ok' });
  });

  it('cuts the next step once a running one ends after the cutoff', async () => {
    const controller = new AbortController();
    // gate-a's admit takes its module at once; the abort comes while it runs: the export is cut.
    const running = op('ok', { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'ETIMEOUT', details: { cutoff: 'cancelled' } });
    expect(calls()).toBe(0);
    expect(await seen('gate-a')).toEqual({ count: 1, last: 'denied' });
  });
});
