/**
 * Quotas through the real kernel: exact at the boundary, exact when many operations race for the
 * last unit, cost units added by observe, concurrency slots given back, retry-after until the
 * window that frees a unit, and counters that survive a restart (a new kernel over the same store,
 * LMDB and memory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore, openStore } from '@mcp0/sdk';
import { signed as fixture, trusted } from '../../../test/fixtures.js';
import { agree, CONSUMER, doc, makeKernel, NAME, op, signed, T0, whilePaused } from './helpers.js';

type Usage = { agreements: { id: string; admitted: number; calls: number; costUnits: number; inFlight: number; bytesIn: number; bytesOut: number }[] };
const usage = async (k: Awaited<ReturnType<typeof makeKernel>>, window = T0) => (await k.callValue(NAME, 'usage', { consumer: CONSUMER, window })) as Usage;

describe('quotas', () => {
  it('admits exactly callsPerWindow calls, then denies with the time to the next window', async () => {
    const kernel = await makeKernel();
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, callsPerWindow: 3 } })));
    for (let i = 0; i < 3; i++) expect((await op(kernel, T0 + 10_000 + i)).ok).toBe(true);
    const r = await op(kernel, T0 + 10_003);
    expect(r).toMatchObject({ ok: false, code: 'EDENIED', retryAfterMs: 60_000 - 10_003 });
    expect((r as { reason: string }).reason).toBe(`quota-exhausted: 3 of 3 calls used in the window from ${new Date(T0).toISOString()} of agreement agr-1`);
    // The last millisecond of the window is still denied; the first of the next is admitted.
    expect((await op(kernel, T0 + 59_999)).ok).toBe(false);
    expect((await op(kernel, T0 + 60_000)).ok).toBe(true);
    expect((await usage(kernel)).agreements[0]).toMatchObject({ admitted: 3, calls: 3, inFlight: 0 });
    await kernel.stop();
  });

  it('never over-admits when many operations race for the last units', async () => {
    const kernel = await makeKernel(new MemoryStore().kv, 'worker');
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, callsPerWindow: 7 } })));
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => op(kernel, T0 + i)));
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    expect(results.filter((r) => !r.ok).every((r) => (r as { reason: string }).reason.startsWith('quota-exhausted: 7 of 7 calls'))).toBe(true);
    expect((await usage(kernel)).agreements[0]).toMatchObject({ admitted: 7, calls: 7, inFlight: 0 });
    await kernel.stop();
  });

  it('stays exact when racing operations alternate between two windows', async () => {
    const kernel = await makeKernel(new MemoryStore().kv, 'worker');
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, callsPerWindow: 3 } })));
    // Logical times alternate between the windows at T0 and T0 + 60 s, all in flight at once.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => op(kernel, T0 + (i % 2) * 60_000 + i)));
    const ran = (w: number) => results.filter((r, i) => r.ok && i % 2 === w).length;
    expect([ran(0), ran(1)]).toEqual([3, 3]);
    expect((await usage(kernel, T0)).agreements[0]).toMatchObject({ admitted: 3, calls: 3, inFlight: 0 });
    expect((await usage(kernel, T0 + 60_000)).agreements[0]).toMatchObject({ admitted: 3, calls: 3 });
    await kernel.stop();
  });

  it('holds maxConcurrent while operations are in flight and gives the slots back', async () => {
    const kernel = await makeKernel(new MemoryStore().kv, 'worker');
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, maxConcurrent: 2 } })));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => op(kernel, T0 + i)));
    const ran = results.filter((r) => r.ok).length;
    // A worker-tier agent runs each call off the main thread, so admits overlap executions.
    expect(ran).toBeGreaterThanOrEqual(2);
    expect(ran).toBeLessThan(12);
    const refused = results.filter((r) => !r.ok) as { reason: string }[];
    expect(refused.every((r) => r.reason === 'quota-exhausted: 2 operations of agreement agr-1 in flight, the limit is 2')).toBe(true);
    expect((await usage(kernel)).agreements[0]).toMatchObject({ admitted: ran, calls: ran, inFlight: 0 });
    // Sequential operations never overlap, so all of them run.
    for (let i = 0; i < 5; i++) expect((await op(kernel, T0 + 100 + i)).ok).toBe(true);
    await kernel.stop();
  });

  it('counts cost units at observe and denies once used ≥ the limit', async () => {
    const kernel = await makeKernel();
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, costUnitsPerWindow: 3 } })));
    // An operation the paused agent refuses before it runs costs exactly 1, the least there is.
    const first = await whilePaused(kernel, () => op(kernel, T0));
    expect(first).toMatchObject({ ok: false, code: 'ESTATE' });
    expect((await usage(kernel)).agreements[0]).toMatchObject({ calls: 1, costUnits: 1 });
    await whilePaused(kernel, () => op(kernel, T0 + 1));
    await whilePaused(kernel, () => op(kernel, T0 + 2));
    const r = await whilePaused(kernel, () => op(kernel, T0 + 3));
    expect(r).toMatchObject({ ok: false, code: 'EDENIED', retryAfterMs: 60_000 - 3 });
    expect((r as { reason: string }).reason).toBe(
      `quota-exhausted: 3 of 3 cost units used in the window from ${new Date(T0).toISOString()} of agreement agr-1`,
    );
    expect((await usage(kernel)).agreements[0]).toMatchObject({ admitted: 3, calls: 3, costUnits: 3 });
    await kernel.stop();
  });

  it('never over-admits cost units when many operations race for the last ones: each in flight holds one', async () => {
    const kernel = await makeKernel(new MemoryStore().kv, 'worker');
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, costUnitsPerWindow: 5 } })));
    // Operations refused by the paused agent cost exactly 1 each, so exactly 5 fit, however the 30 interleave.
    const results = await whilePaused(kernel, () => Promise.all(Array.from({ length: 30 }, (_, i) => op(kernel, T0 + i))));
    const ran = results.filter((r) => r.ok || r.code !== 'EDENIED');
    expect(ran).toHaveLength(5);
    const refused = results.filter((r) => !r.ok && r.code === 'EDENIED') as { reason: string; retryAfterMs: number }[];
    expect(
      refused.every((r) =>
        /^quota-exhausted: \d of 5 cost units used in the window from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z of agreement agr-1(, and \d held by operations in flight)?$/.test(
          r.reason,
        ),
      ),
    ).toBe(true);
    // A denial that waits only for operations in flight says to retry soon, not at the next window.
    const waiting = refused.filter((r) => r.reason.includes('in flight'));
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.every((r) => r.retryAfterMs === 100)).toBe(true);
    expect((await usage(kernel)).agreements[0]).toMatchObject({ calls: 5, costUnits: 5, inFlight: 0 });
    await kernel.stop();
  });

  it('admits one of many operations racing for the very last cost unit', async () => {
    const kernel = await makeKernel(new MemoryStore().kv, 'worker');
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, costUnitsPerWindow: 3 } })));
    for (let i = 0; i < 2; i++) await whilePaused(kernel, () => op(kernel, T0 + i));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => op(kernel, T0 + 10 + i)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await usage(kernel)).agreements[0]).toMatchObject({ calls: 3, inFlight: 0 });
    await kernel.stop();
  });

  it('gives back the call and the slot it reserved when a later admit hook denies the operation', async () => {
    const kernel = await makeKernel(new MemoryStore().kv, 'inline', false);
    await kernel.load(await fixture('gate'), { trust: [trusted], grants: [{ name: 'kv' }] });
    kernel.setPipeline({ admit: [NAME, 'test.gate'], observe: [NAME] });
    await agree(kernel, signed(doc({ permissions: { intents: ['*'], exports: [] }, quotas: { windowMs: 60_000, callsPerWindow: 3, maxConcurrent: 1 } })));
    // test.gate denies the intent "stamp" after agreements admitted it: ten times over the quota.
    for (let i = 0; i < 10; i++) expect(await op(kernel, T0 + i, 'stamp')).toMatchObject({ ok: false, reason: 'intent forbidden by test.gate' });
    expect((await usage(kernel)).agreements[0]).toMatchObject({ admitted: 0, calls: 0, inFlight: 0 });
    for (let i = 0; i < 3; i++) expect((await op(kernel, T0 + 20 + i)).ok).toBe(true);
    expect(await op(kernel, T0 + 30)).toMatchObject({ ok: false, reason: expect.stringMatching(/^quota-exhausted: 3 of 3 calls/) });
    await kernel.stop();
  });

  it('meters bytes in and out and the real cost of successful operations', async () => {
    const kernel = await makeKernel();
    await agree(kernel, signed(doc()));
    let cost = 0;
    for (let i = 0; i < 4; i++) {
      const r = await op(kernel, T0 + i);
      if (!r.ok) throw new Error(r.message);
      cost += r.cost;
    }
    // echo of "hi": 2 bytes in, 2 bytes out each.
    expect((await usage(kernel)).agreements[0]).toMatchObject({ calls: 4, costUnits: cost, bytesIn: 8, bytesOut: 8 });
    await kernel.stop();
  });

  it('enforces the same in the worker tier, where kv may answer asynchronously', async () => {
    const kernel = await makeKernel(new MemoryStore().kv, 'worker', true, 'worker');
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, callsPerWindow: 4 } })));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => op(kernel, T0 + i)));
    expect(results.filter((r) => r.ok)).toHaveLength(4);
    expect((await usage(kernel)).agreements[0]).toMatchObject({ admitted: 4, calls: 4, inFlight: 0 });
    await kernel.stop();
  });

  it.each(['memory', 'lmdb'])('keeps counters across a restart over the same %s store', async (kind) => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp0-agreements-restart-'));
    const store = kind === 'lmdb' ? await openStore(`lmdb:${dir}`) : undefined;
    const kv = store ? store.kv : new MemoryStore().kv;
    try {
      const first = await makeKernel(kv);
      await agree(first, signed(doc({ quotas: { windowMs: 60_000, callsPerWindow: 5 } })));
      for (let i = 0; i < 3; i++) expect((await op(first, T0 + i)).ok).toBe(true);
      await first.stop();

      const second = await makeKernel(kv);
      expect((await usage(second)).agreements[0]).toMatchObject({ admitted: 3, calls: 3 });
      expect((await op(second, T0 + 10)).ok).toBe(true);
      expect((await op(second, T0 + 11)).ok).toBe(true);
      expect((await op(second, T0 + 12)).ok).toBe(false);
      // A revocation also survives.
      await second.callValue(NAME, 'revoke', { id: 'agr-1' });
      await second.stop();
      const third = await makeKernel(kv);
      expect(((await op(third, T0 + 60_000)) as { reason: string }).reason).toMatch(/^revoked:/);
      await third.stop();
    } finally {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
