// The operation pipeline: admit hooks in the configured order may deny with a reason; observe
// hooks see every outcome, failures included; hooks are plugins the kernel knows only by config.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeniedError, decodeCbor, encodeCbor } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { corpusModule } from './wat.js';
import { TestKv } from './memory-kv.js';

describe('operation pipeline', () => {
  let kernel: Kernel;

  beforeAll(async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    await kernel.load(await signed('gate'), { grants: [{ name: 'kv' }] });
    await kernel.load(await signed('hostile'), { isolation: 'worker', timeoutMs: 200 });
    kernel.setPipeline({ admit: ['test.gate'], observe: ['test.gate'] });
  });
  afterAll(() => kernel.stop());

  const seen = () => kernel.callValue('test.gate', 'seen', {}) as Promise<{ count: number; last: string | null }>;

  it('runs admit, the agent export, then observe', async () => {
    const r = await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array([9]) });
    expect(r.output).toEqual(new Uint8Array([9]));
    expect(r.outcome).toMatchObject({ status: 'ok', bytesIn: 1, bytesOut: 1 });
    expect(r.outcome.cost).toBeGreaterThanOrEqual(1);
    expect(r.outcome.inputHash).toHaveLength(32);
    expect(await seen()).toEqual({ count: 1, last: 'ok' });
  });

  it("denies with the hook's reason, and the agent never runs", async () => {
    const before = kernel.metrics()['test.hostile']!.calls;
    const e = await kernel.execute({ agent: 'test.hostile', intent: 'denied', input: new Uint8Array(0) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeniedError);
    expect(e).toMatchObject({ code: 'EDENIED', details: { by: 'test.gate', reason: 'intent forbidden by test.gate' } });
    expect(kernel.metrics()['test.hostile']!.calls).toBe(before);
    expect((await seen()).count).toBe(1); // a denied operation is not observed as executed
  });

  it('observes failed operations too, then reports the failure', async () => {
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'trap', input: new Uint8Array(0) })).rejects.toMatchObject({ code: 'ETRAP' });
    expect(await seen()).toEqual({ count: 2, last: 'error' });
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'loop', input: new Uint8Array(0) })).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(await seen()).toEqual({ count: 3, last: 'error' });
  });

  it("gives admit and observe the operation's cause (ABI 1.2) as op.cause, and no member without one", async () => {
    const causes = () => kernel.callValue('test.gate', 'causes', {}) as Promise<{ admit: unknown; observe: unknown }>;
    const cause = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const given = cause.slice();
    const running = kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array([1]), cause: given });
    given.fill(0); // the kernel keeps its own copy: what the caller does next cannot reach the hooks
    const r = await running;
    expect(r.op.cause).toEqual(cause);
    expect(await causes()).toEqual({ admit: cause, observe: cause });
    // A Buffer is bytes too, and hooks get plain bytes.
    await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array([1]), cause: Buffer.alloc(32, 0xab) });
    expect(await causes()).toEqual({ admit: new Uint8Array(32).fill(0xab), observe: new Uint8Array(32).fill(0xab) });
    // Without one the member is absent (the gate stores null for a missing member), not null.
    const plain = await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array([1]) });
    expect('cause' in plain.op).toBe(false);
    expect(await causes()).toEqual({ admit: null, observe: null });
    // A failed operation is observed with its cause too.
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'trap', input: new Uint8Array(0), cause })).rejects.toMatchObject({ code: 'ETRAP' });
    expect(await causes()).toEqual({ admit: cause, observe: cause });
  });

  it('passes retry-after from a hook, and denies everything once the gate closes', async () => {
    await kernel.callValue('test.gate', 'close', {});
    const e = await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: encodeCbor(1) }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'EDENIED', details: { reason: 'gate closed', retryAfterMs: 1000 } });
  });

  it('refuses a pipeline naming a module without that hook', () => {
    expect(() => kernel.setPipeline({ admit: ['test.hostile'], observe: [] })).toThrow(/does not declare the admit hook/);
    expect(() => kernel.setPipeline({ admit: ['nobody.here'], observe: [] })).toThrow(/no module named/);
  });
});

describe('a denial by a later admit hook', () => {
  it('is observed as denied by the observe hooks that had admitted it, and by no other', async () => {
    const kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    for (const name of ['gate-a', 'gate-b', 'gate-c']) await kernel.load(await signed('gate'), { name, grants: [{ name: 'kv' }] });
    await kernel.load(await signed('hostile'), { isolation: 'worker', timeoutMs: 200 });
    // gate-a admits and observes; gate-b, closed, denies everything; gate-c only observes (it never admitted).
    await kernel.callValue('gate-b', 'close', {});
    kernel.setPipeline({ admit: ['gate-a', 'gate-b'], observe: ['gate-a', 'gate-c'] });
    const seen = (m: string) => kernel.callValue(m, 'seen', {}) as Promise<{ count: number; last: string | null }>;

    const cause = new Uint8Array(32).fill(5);
    const e = await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array(0), cause }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'EDENIED', details: { by: 'gate-b' } });
    expect(await seen('gate-a')).toEqual({ count: 1, last: 'denied' });
    expect(await seen('gate-c')).toEqual({ count: 0, last: null });
    // The hook that gives back what it reserved learns which request it was.
    expect(await kernel.callValue('gate-a', 'causes', {})).toEqual({ admit: cause, observe: cause });

    kernel.setPipeline({ admit: ['gate-a'], observe: ['gate-a', 'gate-c'] });
    await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array([1]) });
    expect(await seen('gate-a')).toEqual({ count: 2, last: 'ok' });
    expect(await seen('gate-c')).toEqual({ count: 1, last: 'ok' });
    await kernel.stop();
  });
});

describe('an admit hook that fails', () => {
  it.each(['admit-trap', 'admit-garbage'])('denies (%s), tells the hooks that had admitted, and reports the hook error', async (name) => {
    const kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() }, restart: { failureThreshold: 100 } });
    await kernel.load(await signed('gate'), { name: 'gate-a', grants: [{ name: 'kv' }] });
    await kernel.load(corpusModule(name).bytes);
    await kernel.load(await signed('hostile'), { isolation: 'worker', timeoutMs: 200 });
    const bad = `corpus.${name}`;
    kernel.setPipeline({ admit: ['gate-a', bad], observe: ['gate-a'] });
    const hookErrors: string[] = [];
    kernel.on('hook-error', (e) => hookErrors.push(`${e.module}/${e.hook}: ${e.error.code}`));

    const e = await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array(0) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeniedError);
    expect(e).toMatchObject({ code: 'EDENIED', details: { by: bad } });
    expect(kernel.metrics()['test.hostile']!.calls).toBe(0);
    expect(await kernel.callValue('gate-a', 'seen', {})).toEqual({ count: 1, last: 'denied' });
    expect(hookErrors).toEqual([`${bad}/admit: ${name === 'admit-trap' ? 'ETRAP' : 'EINPUT'}`]);
    await kernel.stop();
  });
});

describe('operations checked before any hook runs', () => {
  let kernel: Kernel;

  beforeAll(async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() }, restart: { failureThreshold: 100 } });
    await kernel.load(await signed('gate'), { grants: [{ name: 'kv' }, { name: 'random' }] });
    await kernel.load(await signed('hostile'), { isolation: 'worker', timeoutMs: 200, maxInputBytes: 1024 });
    kernel.setPipeline({ admit: ['test.gate'], observe: ['test.gate'] });
  });
  afterAll(() => kernel.stop());

  const admitted = async () => ((await kernel.callValue('test.gate', 'seen', {})) as { count: number }).count;

  it('refuses an intent that is not an export of the agent, without echoing a huge one', async () => {
    const huge = 'x'.repeat(4 << 20);
    const e = await kernel.execute({ agent: 'test.hostile', intent: huge, input: new Uint8Array(0) }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ENOTFOUND' });
    expect((e as Error).message.length).toBeLessThan(300);
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'mcp0_init', input: new Uint8Array(0) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(kernel.execute({ agent: 'nobody', intent: 'ok', input: new Uint8Array(0) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await admitted()).toBe(0);
  });

  it("refuses an input over the agent's limit, a malformed id, and a replay without its time", async () => {
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array(1025) })).rejects.toMatchObject({ code: 'ETOOBIG' });
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array(0), id: 'y'.repeat(129), time: 1 })).rejects.toMatchObject({
      code: 'EUSAGE',
    });
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array(0), id: 'op-1' })).rejects.toMatchObject({
      code: 'EUSAGE',
      message: expect.stringContaining('logical time'),
    });
    await expect(kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array(0), time: Number.NaN })).rejects.toMatchObject({ code: 'EUSAGE' });
    expect(await admitted()).toBe(0);
  });

  it('refuses a cause that is not exactly 32 bytes with EUSAGE naming what came, before any hook', async () => {
    const bad: [unknown, string][] = [
      [new Uint8Array(31), '31 bytes'],
      [new Uint8Array(33), '33 bytes'],
      [new Uint8Array(0), '0 bytes'],
      ['ab'.repeat(32), 'string'],
      [Array.from({ length: 32 }, () => 1), 'an array'],
      [null, 'null'],
      [new Uint16Array(32), 'object'],
      [new ArrayBuffer(32), 'object'],
    ];
    for (const [cause, what] of bad) {
      // Hostile on purpose: the type says Uint8Array, the embedder's caller may not.
      const e = await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: new Uint8Array(0), cause: cause as Uint8Array }).catch((x: unknown) => x);
      expect(e, what).toMatchObject({ code: 'EUSAGE', message: `operation cause: expected 32 bytes (a SHA-256), got ${what}`, details: { expected: 32 } });
    }
    expect(await admitted()).toBe(0);
  });

  it('bills a failed operation what it used, not one unit', async () => {
    const e = await kernel.execute({ agent: 'test.hostile', intent: 'loop', input: new Uint8Array(0) }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ETIMEOUT' });
    // 1 unit per started millisecond of wall time: a call stopped at its 200 ms timeout used at least 200.
    expect((e as { details: { cost: number } }).details.cost).toBeGreaterThan(200);
  });

  it('continues one random stream per module through the operation, and replays it', async () => {
    const run = (id: string) => kernel.execute({ agent: 'test.gate', intent: 'rand', input: encodeCbor({}), id, time: 1_700_000_000_000 });
    const first = decodeCbor((await run('op-r')).output) as { admit: Uint8Array; here: Uint8Array };
    expect(first.admit).toHaveLength(8);
    expect(first.here).not.toEqual(first.admit); // the export drew the next bytes, not the admit hook's again
    expect(decodeCbor((await run('op-r')).output)).toEqual(first);
    expect(decodeCbor((await run('op-s')).output)).not.toEqual(first);
  });
});
