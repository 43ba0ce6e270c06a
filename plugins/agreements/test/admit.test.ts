/**
 * The admit hook through the real kernel pipeline: which agreement an operation runs under (the
 * bound one, and only that, as `binding` reports it), the validity window at its exact boundaries,
 * permission globs, the storage quota reported through meter, and a specific reason for every denial.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@mcp0/abi';
import { MemoryStore } from '@mcp0/sdk';
import { agree, bind, CONSUMER, doc, HELLO, HOUR, makeKernel, NAME, op, register, rejection, signed, T0 } from './helpers.js';

const denied = (r: Awaited<ReturnType<typeof op>>) => {
  if (r.ok) throw new Error('expected a denial, the operation ran');
  expect(r.code).toBe('EDENIED');
  return r as { reason: string; retryAfterMs?: number; message: string };
};

describe('admit', () => {
  it('denies an agent with no agreement, naming it', async () => {
    const kernel = await makeKernel();
    const r = denied(await op(kernel, T0));
    expect(r.reason).toBe(`no-agreement: no agreement is bound to ${HELLO}`);
    expect(r.message).toContain(`${NAME} denied ${HELLO}/echo`);
    await kernel.stop();
  });

  it('checks the validity window at its exact boundaries: notBefore ≤ t < notAfter', async () => {
    const kernel = await makeKernel();
    const notBefore = T0 + 5_000;
    const notAfter = T0 + 9_000;
    await agree(kernel, signed(doc({ validity: { notBefore, notAfter } })));
    const early = denied(await op(kernel, notBefore - 1));
    expect(early.reason).toBe(`not-yet-valid: agreement agr-1 is valid from ${notBefore}, the operation's time is ${notBefore - 1}`);
    expect(early.retryAfterMs).toBe(1);
    expect(denied(await op(kernel, T0)).retryAfterMs).toBe(5_000);
    expect((await op(kernel, notBefore)).ok).toBe(true);
    expect((await op(kernel, notAfter - 1)).ok).toBe(true);
    const late = denied(await op(kernel, notAfter));
    expect(late.reason).toBe(`expired: agreement agr-1 expired at ${notAfter}, the operation's time is ${notAfter}`);
    expect(late.retryAfterMs).toBeUndefined();
    await kernel.stop();
  });

  it.each([
    // [intents, exports, intent, allowed]
    [['echo'], [], 'echo', true],
    [['echo'], [], 'count', false],
    [['ech'], [], 'echo', false],
    [['ech?'], [], 'echo', true],
    [['e*'], [], 'echo', true],
    [['*o'], [], 'echo', true],
    [['g*'], [], 'echo', false],
    [['*'], [], 'echo', true],
    [[], ['mcp0.hello/*'], 'echo', true],
    [[], ['mcp0.*/echo'], 'echo', true],
    [[], ['*'], 'echo', false], // * stops at "/": the agent/intent form needs both parts
    [[], ['**'], 'echo', true],
    [[], ['mcp0.other/*'], 'echo', false],
    [[], ['*/gr*'], 'greet', true],
    [[], [], 'echo', false],
    [['a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'], [], 'echo', false],
  ] as [string[], string[], string, boolean][])('intents %j, exports %j: %s allowed = %s', async (intents, exportGlobs, intent, allowed) => {
    const kernel = await makeKernel();
    await agree(kernel, signed(doc({ permissions: { intents, exports: exportGlobs } })));
    const r = await op(kernel, T0, intent);
    if (allowed) {
      // greet with bad input fails in the agent, after admit allowed it.
      expect(r.ok || (r as { code: string }).code !== 'EDENIED').toBe(true);
    } else {
      expect(denied(r).reason).toBe(`not-permitted: agreement agr-1 does not permit ${HELLO}/${intent}`);
    }
    await kernel.stop();
  });

  it('runs an operation only under the bound agreement: a registered one of the consumer is not enough, and unbind leaves none', async () => {
    const kernel = await makeKernel();
    await register(kernel, signed(doc({ id: 'by-consumer', permissions: { intents: ['echo'], exports: [] } })));
    // 0.1.0 picked agreements whose consumer equalled the agent; now nothing but a binding counts.
    expect(denied(await op(kernel, T0)).reason).toBe(`no-agreement: no agreement is bound to ${HELLO}`);
    const other = generateKeyPair();
    await register(kernel, signed(doc({ id: 'for-keys', consumer: other.kid, permissions: { intents: ['echo'], exports: [] } }), other));
    expect(await bind(kernel, 'for-keys', HELLO, other.kid)).toEqual({ agent: HELLO, agreement: 'for-keys' });
    expect((await op(kernel, T0)).ok).toBe(true);
    const usage = (await kernel.callValue(NAME, 'usage', { consumer: other.kid, window: T0 })) as {
      agreements: { id: string; admitted: number; calls: number }[];
    };
    expect(usage.agreements).toMatchObject([{ id: 'for-keys', admitted: 1, calls: 1 }]);
    expect(await kernel.callValue(NAME, 'unbind', { agent: HELLO })).toEqual({ unbound: true });
    expect(await kernel.callValue(NAME, 'unbind', { agent: HELLO })).toEqual({ unbound: false });
    expect(denied(await op(kernel, T0)).reason).toBe(`no-agreement: no agreement is bound to ${HELLO}`);
    expect((await rejection(bind(kernel, 'missing'))).code).toBe('ENOTFOUND');
    expect((await rejection(bind(kernel, 'for-keys', 'a/b', other.kid))).code).toBe('EINPUT');
    await kernel.stop();
  });

  it('binding reports the agreement bind recorded, and null for an agent never bound or unbound', async () => {
    const kv = new MemoryStore().kv;
    const kernel = await makeKernel(kv);
    const binding = (agent: string) => kernel.callValue(NAME, 'binding', { agent });
    expect(await binding(HELLO)).toEqual({ agent: HELLO, agreement: null });
    await register(kernel, signed(doc({ id: 'a-1' })));
    await register(kernel, signed(doc({ id: 'a-2' })));
    await bind(kernel, 'a-1');
    expect(await binding(HELLO)).toEqual({ agent: HELLO, agreement: 'a-1' });
    await bind(kernel, 'a-2', 'acme.notes');
    expect(await binding('acme.notes')).toEqual({ agent: 'acme.notes', agreement: 'a-2' });
    expect(await binding(HELLO)).toEqual({ agent: HELLO, agreement: 'a-1' });
    // The binding as recorded: a revoked agreement is still the one the agent runs under (and is denied by).
    await kernel.callValue(NAME, 'revoke', { id: 'a-1' });
    expect(await binding(HELLO)).toEqual({ agent: HELLO, agreement: 'a-1' });
    expect(denied(await op(kernel, T0)).reason).toMatch(/^revoked: agreement a-1 /);
    expect(await kernel.callValue(NAME, 'unbind', { agent: HELLO })).toEqual({ unbound: true });
    expect(await binding(HELLO)).toEqual({ agent: HELLO, agreement: null });
    expect(await binding('never.bound')).toEqual({ agent: 'never.bound', agreement: null });
    await kernel.stop();
    // A new instance reads the bindings from kv, not from the old one's memory.
    const again = await makeKernel(kv);
    expect(await again.callValue(NAME, 'binding', { agent: 'acme.notes' })).toEqual({ agent: 'acme.notes', agreement: 'a-2' });
    expect(await again.callValue(NAME, 'binding', { agent: HELLO })).toEqual({ agent: HELLO, agreement: null });
    await again.stop();
  });

  it('binding refuses what bind would refuse as an agent, with the same EINPUT', async () => {
    const kernel = await makeKernel(undefined, 'inline', false);
    await register(kernel, signed(doc()));
    const cases: [unknown, string][] = [
      [{}, '"agent" is missing, expected text'],
      [{ agent: 7 }, '"agent" expected text, got uint'],
      [{ agent: null }, '"agent" expected text, got null'],
      [{ agent: '' }, '"agent" expected 1 to 128 characters, got 0'],
      [{ agent: 'x'.repeat(129) }, '"agent" expected 1 to 128 characters, got 129'],
      [{ agent: 'a/b' }, '"agent" character 1 is not one of A-Z a-z 0-9 _ . : @ -'],
      [['mcp0.hello'], 'input: expected a CBOR map, got array'],
    ];
    for (const [input, message] of cases) {
      const e = await rejection(kernel.callValue(NAME, 'binding', input as never)); // hostile input, on purpose
      expect({ code: e.code, message: e.message }, JSON.stringify(input)).toEqual({ code: 'EINPUT', message });
      if (!Array.isArray(input)) {
        const b = await rejection(kernel.callValue(NAME, 'bind', { agreement: 'agr-1', consumer: CONSUMER, ...(input as object) } as never));
        expect(b.message, `bind ${JSON.stringify(input)}`).toBe(message);
      }
    }
    expect(await kernel.callValue(NAME, 'binding', { agent: 'x'.repeat(128) })).toEqual({ agent: 'x'.repeat(128), agreement: null });
    await kernel.stop();
  });

  it('decides by the bound agreement alone, even when another agreement of the consumer would admit', async () => {
    const kernel = await makeKernel();
    await register(kernel, signed(doc({ id: 'a-old', validity: { notBefore: T0 - 2 * HOUR, notAfter: T0 - HOUR } })));
    await register(kernel, signed(doc({ id: 'b-new', validity: { notBefore: T0, notAfter: T0 + HOUR } })));
    await bind(kernel, 'a-old');
    expect(denied(await op(kernel, T0)).reason).toBe(`expired: agreement a-old expired at ${T0 - HOUR}, the operation's time is ${T0}`);
    await bind(kernel, 'b-new');
    expect((await op(kernel, T0)).ok).toBe(true);
    const usage = (await kernel.callValue(NAME, 'usage', { consumer: CONSUMER, window: T0 })) as { agreements: { id: string; admitted: number }[] };
    expect(usage.agreements.map((a) => [a.id, a.admitted])).toEqual([
      ['a-old', 0],
      ['b-new', 1],
    ]);
    await kernel.stop();
  });

  it('denies once the stored bytes reported through meter exceed the storage quota', async () => {
    const kernel = await makeKernel();
    await agree(kernel, signed(doc({ quotas: { windowMs: 60_000, storageBytes: 1000 } })));
    await kernel.callValue(NAME, 'meter', { agent: HELLO, storageBytes: 1000 });
    expect((await op(kernel, T0)).ok).toBe(true);
    await kernel.callValue(NAME, 'meter', { agent: HELLO, storageBytes: 1001 });
    const r = denied(await op(kernel, T0 + 1));
    expect(r.reason).toBe(`quota-exhausted: ${HELLO} stores 1001 bytes, agreement agr-1 allows 1000`);
    await kernel.callValue(NAME, 'meter', { consumer: CONSUMER, storageBytes: 10 });
    await kernel.callValue(NAME, 'meter', { agent: HELLO, storageBytes: 10 });
    expect((await op(kernel, T0 + 2)).ok).toBe(true);
    expect((await rejection(kernel.callValue(NAME, 'meter', { agent: HELLO, consumer: HELLO, storageBytes: 1 }))).message).toContain('exactly one of');
    expect((await rejection(kernel.callValue(NAME, 'meter', { agent: HELLO, storageBytes: -1 }))).code).toBe('EINPUT');
    await kernel.stop();
  });

  it('usage and invoice refuse malformed input with EINPUT', async () => {
    const kernel = await makeKernel(undefined, 'inline', false);
    expect((await rejection(kernel.callValue(NAME, 'usage', { consumer: 7 }))).code).toBe('EINPUT');
    expect((await rejection(kernel.callValue(NAME, 'invoice', { consumer: HELLO, from: 1, to: HOUR }))).message).toContain('whole UTC hours');
    expect((await rejection(kernel.callValue(NAME, 'invoice', { consumer: HELLO, from: HOUR, to: HOUR }))).message).toContain('must be before');
    await kernel.stop();
  });
});
