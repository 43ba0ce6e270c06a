/**
 * mcp0.trace's hash chain through the real kernel: the observe hook appends one entry per executed
 * operation (ok and failed), the chain equals an independent circomlibjs computation of the
 * README's encoding (version 1 events, and version 2 ones carrying the operation's cause, mixed in
 * one chain), verifyRange finds tampering at the exact seq, entries survive an LMDB restart,
 * hostile input gives typed errors, and a Groth16 TraceBatch proof over 5 entries, v2 among them,
 * lands on the plugin's head.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
// @ts-expect-error: circomlibjs ships no types
import { buildPoseidon } from 'circomlibjs';
import { decodeCbor, encodeCbor, generateKeyPair, readManifest, signModule, type CborValue } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { LmdbStore } from '@mcp0/sdk/lmdb';
import { MemoryStore, type Store, type TraceEntry as Entry, type TraceEvent } from '@mcp0/sdk';
import { proveBatch, releaseZk, verifyBatch } from '@mcp0/sdk/zk';
import { unsigned } from '../../../test/fixtures.js';
import { loadGuest, type Guest } from '../../../test/guest/harness.js';

const dir = fileURLToPath(new URL('..', import.meta.url));
const NAME = 'mcp0.trace';
const HELLO = 'mcp0.hello';
const MAX_CHAIN_COST = 2n ** 32n - 1n;
const T0 = 1_700_000_000_000;

let traceWasm: Uint8Array;
let helloWasm: Uint8Array;
const key = generateKeyPair();
let circom: ((xs: unknown[]) => Uint8Array) & { F: { toObject(x: Uint8Array): bigint } };

// ---- the independent reference: README "Event hash" and "Chain", with circomlibjs ----

const P = (xs: bigint[]): bigint => circom.F.toObject(circom(xs));
const utf8 = new TextEncoder();
const be = (b: Uint8Array): bigint => b.reduce((r, x) => (r << 8n) | BigInt(x), 0n);
function strField(s: string): bigint {
  const b = utf8.encode(s);
  let h = BigInt(b.length);
  for (let off = 0; off < b.length; off += 31) h = P([h, be(b.subarray(off, off + 31))]);
  return h;
}
/** Version 1 without a cause: P(a, b, c); version 2 with one: P(a, b, c, d), d = P(cause hi, lo). */
function refEventHash(e: TraceEvent): bigint {
  const a = P([e.cause === undefined ? 1n : 2n, BigInt(e.seq), strField(e.agent), strField(e.intent)]);
  const b = P([be(e.inputHash.subarray(0, 16)), be(e.inputHash.subarray(16)), be(e.outputHash.subarray(0, 16)), be(e.outputHash.subarray(16))]);
  const c = P([e.status === 'ok' ? 0n : 1n, BigInt(e.cost), BigInt(e.logicalTime)]);
  if (e.cause === undefined) return P([a, b, c]);
  return P([a, b, c, P([be(e.cause.subarray(0, 16)), be(e.cause.subarray(16))])]);
}
const chainCost = (cost: number | bigint): bigint => (BigInt(cost) > MAX_CHAIN_COST ? MAX_CHAIN_COST : BigInt(cost));
const refStep = (prev: bigint, e: TraceEvent): bigint => P([prev, refEventHash(e), chainCost(e.cost)]);
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const entryKey = (seq: number): string => `trace/e/${String(seq).padStart(20, '0')}`;

// ---- kernels ----

async function makeKernel(store: Store): Promise<Kernel> {
  const kernel = new Kernel({ trust: [key.publicKey], providers: { kv: store.kv } });
  await kernel.load(signModule(traceWasm, key), { isolation: 'inline', grants: [{ name: 'kv' }] });
  await kernel.load(signModule(helloWasm, key), { isolation: 'inline', grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
  kernel.setPipeline({ admit: [], observe: [NAME] });
  return kernel;
}

/** What the test expects each entry to hold, built from what execute reported. */
interface Expected {
  agent: string;
  intent: string;
  input: Uint8Array;
  output: Uint8Array;
  status: 'ok' | 'error';
  cost: number;
  time: number;
  /** The operation's cause, when it was run with one: a version 2 event. */
  cause?: Uint8Array;
}

let nextTime = T0;
async function run(kernel: Kernel, intent: string, input: Uint8Array, log: Expected[], cause?: Uint8Array): Promise<void> {
  const time = nextTime++;
  const caused = cause === undefined ? {} : { cause };
  try {
    const r = await kernel.execute({ agent: HELLO, intent, input, time, ...caused });
    log.push({ agent: HELLO, intent, input, output: r.output, status: 'ok', cost: r.outcome.cost, time, ...caused });
  } catch (e) {
    // A failed execute is observed with what it used (its metered cost) and an empty output.
    const cost = (e as { details: { cost: number } }).details.cost;
    log.push({ agent: HELLO, intent, input, output: new Uint8Array(0), status: 'error', cost, time, ...caused });
  }
}
/** A distinct cause per call, as an envelope's SHA-256 would be. */
let causes = 0;
const nextCause = (): Uint8Array => sha256(new TextEncoder().encode(`envelope ${causes++}`));

const head = (k: Kernel) => k.callValue(NAME, 'head', {}) as Promise<{ seq: number | null; head: string }>;
const getEntry = (k: Kernel, seq: number) => k.callValue(NAME, 'get', { seq }) as Promise<unknown> as Promise<Entry>;
const range = (k: Kernel, from: number, to: number) => k.callValue(NAME, 'range', { from, to }) as Promise<unknown> as Promise<Entry[]>;
const verify = (k: Kernel, from: number, to: number) =>
  k.callValue(NAME, 'verifyRange', { from, to }) as Promise<{ ok: boolean; brokenAt?: number; reason?: string }>;

/** Checks every entry against the expectations and the reference chain; returns the reference heads. */
function checkAgainstReference(entries: Entry[], log: Expected[]): bigint[] {
  expect(entries.map((e) => e.seq)).toEqual(log.map((_, i) => i));
  let h = 0n;
  const heads: bigint[] = [];
  entries.forEach((entry, i) => {
    const want = log[i]!;
    expect(entry.event).toEqual({
      seq: i,
      agent: want.agent,
      intent: want.intent,
      inputHash: sha256(want.input),
      outputHash: sha256(want.output),
      status: want.status,
      cost: want.cost,
      logicalTime: want.time,
      ...(want.cause === undefined ? {} : { cause: want.cause }),
    });
    expect(entry.eventHash).toBe(refEventHash(entry.event).toString());
    h = refStep(h, entry.event);
    expect(entry.head).toBe(h.toString());
    heads.push(h);
  });
  return heads;
}

beforeAll(async () => {
  traceWasm = await unsigned('trace');
  helloWasm = await unsigned('hello');
  circom = await buildPoseidon();
});
afterAll(async () => {
  await releaseZk();
});

describe('mcp0.trace chain', () => {
  it('carries its manifest (0.3.0, observe hook, kv under trace/)', () => {
    const m = readManifest(traceWasm);
    expect(m).toEqual(JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8')));
    expect(m).toMatchObject({ version: '0.3.0', hooks: ['observe'], capabilities: [{ name: 'kv', scope: { prefix: 'trace/' } }] });
  });

  it('the reference encoding has the documented fixed points', () => {
    expect(strField('')).toBe(0n);
    expect(strField('a')).toBe(P([1n, 97n]));
    expect(strField('x'.repeat(32))).toBe(P([P([32n, be(utf8.encode('x'.repeat(31)))]), 120n]));
  });

  describe('through the kernel with a MemoryStore', () => {
    let store: MemoryStore;
    let kernel: Kernel;
    const log: Expected[] = [];

    beforeAll(async () => {
      store = new MemoryStore();
      kernel = await makeKernel(store);
    });
    afterAll(async () => {
      await kernel?.stop();
      await store?.close();
    });

    it('starts empty', async () => {
      expect(await head(kernel)).toEqual({ seq: null, head: '0' });
      await expect(getEntry(kernel, 0)).rejects.toMatchObject({ code: 'ENOTFOUND' });
      expect(await range(kernel, 0, 10)).toEqual([]);
      await expect(verify(kernel, 0, 0)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    });

    it('appends one entry per executed operation, ok and failed, with and without a cause, matching circomlibjs', async () => {
      await run(kernel, 'echo', new Uint8Array([1, 2, 3]), log);
      await run(kernel, 'greet', encodeCbor({ name: 'Zoë 🌍' }), log, nextCause());
      await run(kernel, 'greet', encodeCbor({ name: 7 }), log, nextCause()); // EINPUT: failed, still observed, with its cause
      await run(kernel, 'echo', new Uint8Array(5000).fill(9), log);
      // An intent the agent does not export is refused before any hook runs: never traced.
      await expect(kernel.execute({ agent: HELLO, intent: 'no-such-intent', input: new Uint8Array(0), time: nextTime++ })).rejects.toMatchObject({
        code: 'ENOTFOUND',
      });
      await run(kernel, 'echo', new Uint8Array(0), log);
      await run(kernel, 'count', encodeCbor({ key: 'k' }), log, new Uint8Array(32).fill(0xff)); // the largest halves: 2^128 − 1 each
      expect(log.map((l) => l.status)).toEqual(['ok', 'ok', 'error', 'ok', 'ok', 'ok']);
      expect(log.map((l) => (l.cause === undefined ? 1 : 2))).toEqual([1, 2, 2, 1, 1, 2]);

      const entries = await range(kernel, 0, 999);
      expect(entries).toHaveLength(log.length);
      const heads = checkAgainstReference(entries, log);
      expect(await head(kernel)).toEqual({ seq: log.length - 1, head: heads.at(-1)!.toString() });
      for (let i = 0; i < entries.length; i++) expect(await getEntry(kernel, i)).toEqual(entries[i]);
      expect(await range(kernel, 2, 4)).toEqual(entries.slice(2, 5));
      expect(await range(kernel, 5, 100)).toEqual(entries.slice(5));
      expect(await range(kernel, 100, 200)).toEqual([]);
      // stored as documented: one CBOR entry per seq, plus the head record
      expect(decodeCbor((await store.kv.get(NAME, entryKey(3)))!)).toEqual(entries[3]);
      // a version 1 event has exactly its 8 members (0.2's bytes), a version 2 one the cause as a 9th
      expect(Object.keys(entries[0]!.event)).toHaveLength(8);
      expect(Object.keys(entries[1]!.event).sort()).toEqual([...Object.keys(entries[0]!.event), 'cause'].sort());
      expect(decodeCbor((await store.kv.get(NAME, 'trace/head'))!)).toEqual({ seq: log.length - 1, head: heads.at(-1)!.toString() });
    });

    it('verifyRange reports ok over the whole chain and over windows', async () => {
      const n = log.length;
      expect(await verify(kernel, 0, n - 1)).toEqual({ ok: true });
      expect(await verify(kernel, 2, 4)).toEqual({ ok: true });
      expect(await verify(kernel, n - 1, n - 1)).toEqual({ ok: true });
    });

    it('verifyRange finds tampering at the exact seq, and the chain heals when restored', async () => {
      const n = log.length;
      const k2 = entryKey(2);
      const original = (await store.kv.get(NAME, k2))!.slice();
      const e2 = decodeCbor(original) as unknown as Entry;

      // 1. an edited event (cost) with the stored hashes kept: eventHash mismatch at 2
      await store.kv.put(NAME, k2, encodeCbor({ ...e2, event: { ...e2.event, cost: 0 } } as unknown as CborValue));
      let r = await verify(kernel, 0, n - 1);
      expect(r).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/eventHash/) });
      expect(await verify(kernel, 0, 1)).toEqual({ ok: true });
      // a window starting after the break trusts its anchor (entry from − 1): documented
      expect(await verify(kernel, 3, n - 1)).toEqual({ ok: true });

      // 2. an edited event with its eventHash and head recomputed: entry 2 is self-consistent, 3 breaks
      const forged = { ...e2.event, agent: 'someone.else' };
      const prev = BigInt((decodeCbor((await store.kv.get(NAME, entryKey(1)))!) as unknown as Entry).head);
      await store.kv.put(
        NAME,
        k2,
        encodeCbor({ seq: 2, event: forged, eventHash: refEventHash(forged).toString(), head: refStep(prev, forged).toString() } as unknown as CborValue),
      );
      r = await verify(kernel, 0, n - 1);
      expect(r).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/head/) });

      // 3. garbage bytes: does not decode; get answers ESTATE
      await store.kv.put(NAME, k2, new Uint8Array([0xa4, 0x63, 0x73]));
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/decode/) });
      await expect(getEntry(kernel, 2)).rejects.toMatchObject({ code: 'ESTATE' });
      await expect(range(kernel, 0, 5)).rejects.toMatchObject({ code: 'ESTATE' });

      // 4. a stored head rewritten: head mismatch at 2
      await store.kv.put(NAME, k2, encodeCbor({ ...e2, head: '1' } as unknown as CborValue));
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/head/) });

      // 5. an extra field, a wrong seq, a bad status: malformed
      await store.kv.put(NAME, k2, encodeCbor({ ...e2, event: { ...e2.event, extra: 1 } } as unknown as CborValue));
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: 2 });
      await store.kv.put(NAME, k2, encodeCbor({ ...e2, seq: 3 } as unknown as CborValue));
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: 2 });
      await store.kv.put(NAME, k2, encodeCbor({ ...e2, event: { ...e2.event, status: 'maybe' } } as unknown as CborValue));
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/status/) });

      // 6. deleted: missing at 2
      await store.kv.delete(NAME, k2);
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/missing/) });
      expect(await verify(kernel, 3, n - 1)).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/anchor/) });

      // 7. the head record out of step with the last entry
      await store.kv.put(NAME, k2, original);
      expect(await verify(kernel, 0, n - 1)).toEqual({ ok: true });
      const headRecord = (await store.kv.get(NAME, 'trace/head'))!.slice();
      await store.kv.put(NAME, 'trace/head', encodeCbor({ seq: n - 1, head: '12345' }));
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: n - 1, reason: expect.stringMatching(/head record/) });
      await store.kv.put(NAME, 'trace/head', encodeCbor({ seq: 'x', head: '1' }));
      await expect(head(kernel)).rejects.toMatchObject({ code: 'ESTATE' });
      await store.kv.put(NAME, 'trace/head', headRecord);
      expect(await verify(kernel, 0, n - 1)).toEqual({ ok: true });
    });

    it('verifyRange finds a version 2 event whose cause was altered, removed, added, or malformed', async () => {
      const n = log.length;
      const put = (seq: number, entry: unknown) => store.kv.put(NAME, entryKey(seq), encodeCbor(entry as CborValue));
      const e2 = decodeCbor((await store.kv.get(NAME, entryKey(2)))!) as unknown as Entry;
      const e3 = decodeCbor((await store.kv.get(NAME, entryKey(3)))!) as unknown as Entry;
      expect(e2.event.cause).toEqual(log[2]!.cause);
      expect(e3.event.cause).toBeUndefined();
      const flipped = e2.event.cause!.slice();
      flipped[31]! ^= 1;
      const cases: [string, number, unknown, RegExp][] = [
        // the cause is bound into eventHash: one bit of it breaks the entry
        ['one bit of the cause', 2, { ...e2, event: { ...e2.event, cause: flipped } }, /eventHash does not match/],
        ['the cause of another request', 2, { ...e2, event: { ...e2.event, cause: log[1]!.cause } }, /eventHash does not match/],
        // a v2 event passed off as v1 (the cause dropped) or a v1 event given a cause
        ['the cause removed', 2, { ...e2, event: Object.fromEntries(Object.entries(e2.event).filter(([k]) => k !== 'cause')) }, /eventHash does not match/],
        ['a cause added', 3, { ...e3, event: { ...e3.event, cause: new Uint8Array(32) } }, /eventHash does not match/],
        // malformed: strictly 32 bytes; null is not "no cause"
        [
          'a cause of 31 bytes',
          2,
          { ...e2, event: { ...e2.event, cause: e2.event.cause!.subarray(0, 31) } },
          /malformed event "cause": expected 32 bytes, got 31 bytes/,
        ],
        ['a cause of 33 bytes', 2, { ...e2, event: { ...e2.event, cause: new Uint8Array(33) } }, /malformed event "cause": expected 32 bytes, got 33 bytes/],
        ['a cause as text', 2, { ...e2, event: { ...e2.event, cause: 'ab'.repeat(32) } }, /malformed event "cause": expected 32 bytes, got text/],
        ['a null cause', 3, { ...e3, event: { ...e3.event, cause: null } }, /malformed event "cause": expected 32 bytes, got null/],
        ['a 10th field', 2, { ...e2, event: { ...e2.event, extra: 1 } }, /malformed event: expected exactly 9 fields \(version 2, with a cause\), got 10/],
      ];
      for (const [what, seq, entry, reason] of cases) {
        const original = (await store.kv.get(NAME, entryKey(seq)))!.slice();
        await put(seq, entry);
        expect(await verify(kernel, 0, n - 1), what).toEqual({ ok: false, brokenAt: seq, reason: expect.stringMatching(reason) });
        await store.kv.put(NAME, entryKey(seq), original);
      }
      // the same v2 event with its hashes recomputed for the altered cause: self-consistent, so the next entry breaks
      const prev = BigInt((decodeCbor((await store.kv.get(NAME, entryKey(1)))!) as unknown as Entry).head);
      const forged = { ...e2.event, cause: flipped };
      await put(2, { seq: 2, event: forged, eventHash: refEventHash(forged).toString(), head: refStep(prev, forged).toString() });
      expect(await verify(kernel, 0, n - 1)).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/head/) });
      await store.kv.put(NAME, entryKey(2), encodeCbor(e2 as unknown as CborValue));
      expect(await verify(kernel, 0, n - 1)).toEqual({ ok: true });
    });

    it('answers hostile input to every export with typed errors, and keeps serving', async () => {
      const raw = async (exp: string, bytes: Uint8Array) => kernel.call(NAME, exp, bytes);
      const garbage = [
        new Uint8Array(0),
        new Uint8Array([0xa1]),
        new Uint8Array([0xa2, 0x64, 0x66, 0x72]),
        new Uint8Array([0xff]),
        new Uint8Array([0x1b, 1, 2]),
      ];
      for (const exp of ['head', 'get', 'range', 'verifyRange']) {
        for (const bytes of garbage) await expect(raw(exp, bytes), `${exp} ${bytes.join(',')}`).rejects.toMatchObject({ code: 'EINPUT' });
        for (const v of [[], 'x', 7, null, [1, 2]] as CborValue[]) {
          await expect(kernel.callValue(NAME, exp, v), `${exp} ${JSON.stringify(v)}`).rejects.toMatchObject({ code: 'EINPUT' });
        }
      }
      for (const v of [{}, { seq: 'x' }, { seq: -1 }, { seq: 1.5 }, { seq: null }, { seq: new Uint8Array(8) }] as CborValue[]) {
        await expect(kernel.callValue(NAME, 'get', v), JSON.stringify(v)).rejects.toMatchObject({ code: 'EINPUT' });
      }
      await expect(kernel.callValue(NAME, 'get', { seq: 2n ** 64n - 1n })).rejects.toMatchObject({ code: 'ENOTFOUND' });
      for (const exp of ['range', 'verifyRange']) {
        for (const v of [{}, { from: 0 }, { to: 1 }, { from: 'a', to: 1 }, { from: 0, to: -1 }, { from: 0.5, to: 1 }, { from: 5, to: 2 }] as CborValue[]) {
          await expect(kernel.callValue(NAME, exp, v), `${exp} ${JSON.stringify(v)}`).rejects.toMatchObject({ code: 'EINPUT' });
        }
        for (const v of [
          { from: 0, to: 1000 },
          { from: 0, to: 2n ** 64n - 1n },
          { from: 10, to: 1_000_000 },
        ] as CborValue[]) {
          await expect(kernel.callValue(NAME, exp, v), `${exp} ${String(v)}`).rejects.toMatchObject({ code: 'ETOOBIG' });
        }
      }
      expect(await range(kernel, 0, 999)).toHaveLength(log.length);
      await expect(verify(kernel, 0, 999)).rejects.toMatchObject({ code: 'ENOTFOUND' });
      await expect(kernel.callValue(NAME, 'verifyRange', { from: 2n ** 64n - 2n, to: 2n ** 64n - 1n })).rejects.toMatchObject({ code: 'ENOTFOUND' });
      expect(await range(kernel, (2n ** 64n - 2n) as unknown as number, (2n ** 64n - 1n) as unknown as number)).toEqual([]);
      expect(await verify(kernel, 0, log.length - 1)).toEqual({ ok: true });
      expect((await head(kernel)).seq).toBe(log.length - 1);
    });
  });

  describe('observe hook, called directly (stand-in host)', () => {
    let g: Guest;
    const obs = (op: Record<string, CborValue>, outcome: Record<string, CborValue>) => g.call('mcp0_observe', encodeCbor({ op, outcome }));
    const op = (o: Record<string, CborValue> = {}) => ({ id: 'x', agent: 'a.b', intent: 'do', time: 5, inputBytes: 0, ...o });
    const outcome = (o: Record<string, CborValue> = {}) => ({
      status: 'ok',
      cost: 3,
      wallUs: 1,
      bytesIn: 0,
      bytesOut: 0,
      inputHash: new Uint8Array(32).fill(1),
      outputHash: new Uint8Array(32).fill(2),
      ...o,
    });
    const stored = (seq: number) => decodeCbor(g.host.kv.get(entryKey(seq))!) as unknown as Entry;

    beforeAll(async () => {
      g = await loadGuest(traceWasm, { kvPrefix: 'trace/' });
    });

    it("hashes an event of each version to the README's known answers", async () => {
      // README "Event hash", test vectors: the same operation at seq 0, without and with a cause.
      const cause = Uint8Array.from({ length: 32 }, (_, i) => i);
      const want = {
        v1: {
          eventHash: '8974329938089505716694458842502562782161171576526475932879565371353417218917',
          head: '5570289909424394121660265437895820530325078334781316589901157812045397994635',
        },
        v2: {
          eventHash: '16479778892294121340508807941492912612812208513715653714583408988926561814815',
          head: '10857008959221727720461404310451233580570474609749952069633883470001873214737',
        },
      };
      for (const [version, opCause] of [
        ['v1', undefined],
        ['v2', cause],
      ] as const) {
        const fresh = await loadGuest(traceWasm, { kvPrefix: 'trace/' });
        const input = { op: op(opCause === undefined ? {} : { cause: opCause }), outcome: outcome() };
        expect(await fresh.call('mcp0_observe', encodeCbor(input)), version).toMatchObject({ kind: 'output' });
        const e = decodeCbor(fresh.host.kv.get(entryKey(0))!) as unknown as Entry;
        expect({ eventHash: e.eventHash, head: e.head }, version).toEqual(want[version]);
        expect(e.event.cause, version).toEqual(opCause);
        // ...and circomlibjs over the documented encoding agrees
        expect(refEventHash(e.event).toString(), version).toBe(want[version].eventHash);
      }
      const d = P([be(cause.subarray(0, 16)), be(cause.subarray(16))]);
      expect(d.toString()).toBe('17777529050612888446306579223422909855541731299448469868393936125776981051198');
    });

    it('saturates costs above 2^32 − 1 in the chain step and keeps the true cost in the event', async () => {
      const agent = 'publisher.agent-with-a-long-name-ünïcödé-🌍-over-two-chunks-of-31-bytes';
      const cost = 2n ** 40n + 5n;
      const time = 2n ** 60n;
      expect(await obs(op({ agent, time }), outcome({ cost, status: 'error', code: 'ETRAP', message: 'm' }))).toEqual({
        kind: 'output',
        bytes: new Uint8Array(0),
      });
      expect(await obs(op(), outcome({ cost: 2n ** 32n - 1n }))).toMatchObject({ kind: 'output' });
      expect(await obs(op(), outcome({ cost: 2n ** 64n - 1n, inputHash: new Uint8Array(32).fill(0xff), outputHash: new Uint8Array(32) }))).toMatchObject({
        kind: 'output',
      });
      const e0 = stored(0);
      expect(e0.event).toMatchObject({ seq: 0, agent, status: 'error', logicalTime: time });
      expect(BigInt(e0.event.cost)).toBe(cost);
      let h = 0n;
      for (const seq of [0, 1, 2]) {
        const e = stored(seq);
        expect(e.eventHash).toBe(refEventHash(e.event).toString());
        h = P([h, refEventHash(e.event), chainCost(e.event.cost)]);
        expect(e.head).toBe(h.toString());
      }
      expect(chainCost(e0.event.cost)).toBe(2n ** 32n - 1n);
    });

    it('refuses malformed observe input with EINPUT, never a trap, and appends nothing', async () => {
      const before = [...g.host.kv.keys()].length;
      const bad: Uint8Array[] = [
        new Uint8Array(0),
        new Uint8Array([0xa2, 0x62]),
        encodeCbor([]),
        encodeCbor({ op: op() }),
        encodeCbor({ outcome: outcome() }),
        encodeCbor({ op: 'x', outcome: outcome() }),
        encodeCbor({ op: op({ agent: 1 }), outcome: outcome() }),
        encodeCbor({ op: op({ time: -1 }), outcome: outcome() }),
        encodeCbor({ op: op({ time: 1.5 }), outcome: outcome() }),
        encodeCbor({ op: op(), outcome: outcome({ status: 'maybe' }) }),
        encodeCbor({ op: op(), outcome: outcome({ status: 'denied', code: 'EDENIED', message: 'm' }) }), // never sent to a hook that does not admit
        encodeCbor({ op: op(), outcome: outcome({ cost: -3 }) }),
        encodeCbor({ op: op(), outcome: outcome({ inputHash: new Uint8Array(31) }) }),
        encodeCbor({ op: op(), outcome: outcome({ outputHash: 'abc' }) }),
        // a cause is 32 bytes or absent: anything else would be recorded as a claim it is not
        encodeCbor({ op: op({ cause: new Uint8Array(31) }), outcome: outcome() }),
        encodeCbor({ op: op({ cause: new Uint8Array(33) }), outcome: outcome() }),
        encodeCbor({ op: op({ cause: 'ab'.repeat(16) }), outcome: outcome() }),
        encodeCbor({ op: op({ cause: null }), outcome: outcome() }),
        encodeCbor({ op: op({ cause: [new Uint8Array(32)] }), outcome: outcome() }),
      ];
      for (const bytes of bad) {
        const r = await g.call('mcp0_observe', bytes);
        expect(r, Buffer.from(bytes).toString('hex')).toMatchObject({ kind: 'error', code: 'EINPUT' });
      }
      for (const [cause, message] of [
        [new Uint8Array(31), 'op."cause" expected 32 bytes, got 31'],
        [new Uint8Array(33), 'op."cause" expected 32 bytes, got 33'],
        [7, 'op."cause" expected bytes, got uint'],
      ] as const) {
        expect(await obs(op({ cause }), outcome())).toEqual({ kind: 'error', code: 'EINPUT', message });
      }
      expect([...g.host.kv.keys()].length).toBe(before);
    });

    it('refuses to extend a corrupt head record with ESTATE', async () => {
      const saved = g.host.kv.get('trace/head')!;
      g.host.kv.set('trace/head', encodeCbor({ seq: 2, head: '00' }));
      expect(await obs(op(), outcome())).toMatchObject({ kind: 'error', code: 'ESTATE' });
      g.host.kv.set('trace/head', encodeCbor({ seq: 2, head: (2n ** 254n).toString() })); // ≥ p: not canonical
      expect(await obs(op(), outcome())).toMatchObject({ kind: 'error', code: 'ESTATE' });
      g.host.kv.set('trace/head', saved);
      expect(await obs(op(), outcome())).toMatchObject({ kind: 'output' });
      expect(stored(3).seq).toBe(3);
    });

    it('overwrites an entry left past the head (a crash between the two writes)', async () => {
      g.host.kv.set(entryKey(4), encodeCbor({ seq: 4, event: 'half-written', eventHash: '1', head: '2' }));
      expect(await obs(op({ intent: 'after-crash' }), outcome())).toMatchObject({ kind: 'output' });
      const e4 = stored(4);
      expect(e4.event.intent).toBe('after-crash');
      expect(e4.head).toBe(P([BigInt(stored(3).head), refEventHash(e4.event), 3n]).toString());
      expect(decodeCbor(g.host.kv.get('trace/head')!)).toEqual({ seq: 4, head: e4.head });
    });
  });

  describe('with an LmdbStore across a restart, then a Groth16 batch proof', () => {
    const lmdbDir = mkdtempSync(join(tmpdir(), 'mcp0-trace-lmdb-'));
    const log: Expected[] = [];
    let entries: Entry[] = [];
    afterAll(() => rmSync(lmdbDir, { recursive: true, force: true }));

    it('survives closing and reopening the store and reloading the plugin; the chain continues', async () => {
      let store = LmdbStore.open(lmdbDir);
      let kernel = await makeKernel(store);
      for (let i = 0; i < 4; i++)
        await run(kernel, i === 2 ? 'greet' : 'echo', i === 2 ? encodeCbor({}) : new Uint8Array([i]), log, i === 1 ? nextCause() : undefined);
      const before = await head(kernel);
      expect(before.seq).toBe(3);
      await kernel.stop();
      await store.close();

      store = LmdbStore.open(lmdbDir);
      kernel = await makeKernel(store);
      expect(await head(kernel)).toEqual(before);
      // Versions 1 and 2 both in the proven batch (seq 2..6): the circuit takes eventHash and cost only.
      for (let i = 0; i < 4; i++) await run(kernel, 'echo', new Uint8Array(i * 1500), log, i % 2 === 0 ? nextCause() : undefined);
      entries = await range(kernel, 0, 999);
      const heads = checkAgainstReference(entries, log);
      expect(await head(kernel)).toEqual({ seq: 7, head: heads.at(-1)!.toString() });
      expect(await verify(kernel, 0, 7)).toEqual({ ok: true });
      await kernel.stop();
      await store.close();
    });

    it('proves 5 consecutive entries with TraceBatch: prevRoot and newRoot are the plugin heads', async () => {
      const batch = entries.slice(2, 7); // seq 2..6
      expect(batch.map((e) => (e.event.cause === undefined ? 1 : 2))).toEqual([1, 1, 2, 1, 2]);
      const costLimit = 1_000_000n;
      const proof = await proveBatch({
        prevRoot: entries[1]!.head,
        events: batch.map((e) => ({ eventHash: e.eventHash, cost: chainCost(e.event.cost) })),
        costLimit,
      });
      expect(proof.newRoot.toString()).toBe(entries[6]!.head);
      expect(proof.prevRoot.toString()).toBe(entries[1]!.head);
      expect(proof.count).toBe(5);
      expect(proof.totalCost).toBe(batch.reduce((s, e) => s + BigInt(e.event.cost), 0n));
      expect(await verifyBatch(proof.proof, proof.publicSignals)).toBe(true);
      const forged = [...proof.publicSignals];
      forged[0] = entries[5]!.head;
      expect(await verifyBatch(proof.proof, forged)).toBe(false);
    }, 120_000);
  });
});
