/**
 * The mcp0.trace@1 role suite: Poseidon known answers, and the observe hook extending a Poseidon
 * hash chain (plugins/trace/README.md, "Event hash" and "Chain") that head, get, range and
 * verifyRange read back. The chain is recomputed here with the plugin's own `poseidon` export,
 * which is first held to the committed circomlibjs answers, so a chain that is not Poseidon over
 * the documented encoding fails. One operation runs with a cause (ABI 1.2 `op.cause`), which must
 * come back in its entry, and only in its, hashed as a version 2 event.
 */
import { createHash } from 'node:crypto';
import { chainCost, encodeCbor, Mcp0Error, ROLE_NAMES, TRACE_HEAD_KEY, traceEntryKey } from '@mcp0/abi';
import type { TraceEntry as Entry } from '@mcp0/sdk';
import { CaseFailure, check, type Case, type Suite } from '../../runner/case.js';
import type { PluginSubject } from '../../runner/subject.js';
import { BENCH_TIME, bench, type Bench } from '../harness.js';
import { brief, caller, canonical, failure, publicRecord, sameBytes, type Caller } from './call.js';
import { POSEIDON_VECTORS } from './poseidon-vectors.js';
import { exportsCase } from './exports.js';

/**
 * The role id.
 * @example
 * registerRoleSuite(TRACE_ROLE, mySuite) // replaces the standard suite
 */
export const TRACE_ROLE = ROLE_NAMES.trace;

/** The trace suite's context: the subject. */
interface TraceContext {
  subject: PluginSubject;
}

/** What the suite executed, to compare with what was traced. */
interface Executed {
  intent: string;
  input: Uint8Array;
  time: number;
  status: 'ok' | 'error';
  output?: Uint8Array;
  cost?: number;
  /** The cause it was run with, if any. */
  cause?: Uint8Array;
}

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** A fresh bench with the plugin as the observe hook. */
async function withTrace<T>(subject: PluginSubject, work: (call: Caller<'trace'>, b: Bench) => Promise<T>): Promise<T> {
  const b = await bench(subject);
  try {
    b.kernel.setPipeline({ admit: [], observe: [b.module.name] });
    return await work(caller(b.kernel, b.module.name, 'trace'), b);
  } finally {
    await b.close();
  }
}

/** Checks the plugin's poseidon export against the known answers; returns it as a hash function. */
async function poseidonOracle(call: Caller<'trace'>): Promise<(xs: bigint[]) => Promise<bigint>> {
  for (const [inputs, want] of POSEIDON_VECTORS) {
    const got = await call('poseidon', inputs);
    check(
      got === want,
      `poseidon(${inputs.map((x) => (x.length > 12 ? `${x.slice(0, 6)}…` : x)).join(', ')}): expected ${want} (circomlibjs), got ${brief(got)}`,
      { inputs, expected: want, got },
    );
  }
  return async (xs) => BigInt(await call('poseidon', xs.map(String)));
}

/** The cause the suite gives one operation: what an rpc envelope's SHA-256 would be. */
const CAUSE = sha256(new TextEncoder().encode('mcp0 conformance: a signed request'));
/** Which operation of the plan runs with CAUSE: ok, between operations without one. */
const CAUSED = 3;

/**
 * Runs a few operations through the pipeline against the plugin itself (its own read-only exports
 * are the agent), one of them failing, one with a cause, each at its own logical time.
 */
async function runOperations(b: Bench): Promise<Executed[]> {
  const plan: [string, unknown][] = [
    ['head', {}],
    ['head', {}],
    ['get', { seq: 1_000_000 }],
    ['range', { from: 0, to: 0 }],
    ['head', {}],
  ];
  const done: Executed[] = [];
  for (const [i, [intent, value]] of plan.entries()) {
    const input = encodeCbor(value);
    const time = BENCH_TIME + 1000 * i;
    const caused = i === CAUSED ? { cause: CAUSE } : {};
    try {
      const r = await b.kernel.execute({ agent: b.module.name, intent, input, time, id: `conformance-${i}`, ...caused });
      done.push({ intent, input, time, status: 'ok', output: r.output, cost: r.outcome.cost, ...caused });
    } catch {
      done.push({ intent, input, time, status: 'error', ...caused });
    }
  }
  return done;
}

const knownAnswers: Case<TraceContext> = {
  name: 'poseidon known answers (circomlibjs)',
  run: ({ subject }) =>
    withTrace(subject, async (call) => {
      await poseidonOracle(call);
      if (subject.manifest.exports.some((e) => e.name === 'poseidon_batch')) {
        const got = await call(
          'poseidon_batch',
          POSEIDON_VECTORS.map(([xs]) => xs),
        );
        check(Array.isArray(got) && got.length === POSEIDON_VECTORS.length, `poseidon_batch: expected ${POSEIDON_VECTORS.length} hashes, got ${brief(got)}`);
        POSEIDON_VECTORS.forEach(([xs, want], i) =>
          check(got[i] === want, `poseidon_batch #${i} (${xs.length} inputs): expected ${want}, got ${brief(got[i])}`),
        );
      }
    }),
};

const observes: Case<TraceContext> = {
  name: 'observe appends one entry per operation',
  run: ({ subject }) =>
    withTrace(subject, async (call, b) => {
      const empty = await call('head', {});
      check(empty?.seq === null && empty?.head === '0', `head of an empty trace: expected {seq: null, head: "0"}, got ${brief(empty)}`);
      const done = await runOperations(b);
      check(
        done.some((d) => d.status === 'error'),
        'the plan: expected one operation to fail (get of a missing seq)',
      );
      const h = await call('head', {});
      check(Number(h?.seq) === done.length - 1, `head after ${done.length} operations: expected seq ${done.length - 1}, got ${brief(h)}`);
      const entries: Entry[] = await call('range', { from: 0, to: done.length - 1 });
      check(Array.isArray(entries) && entries.length === done.length, `range 0..${done.length - 1}: expected ${done.length} entries, got ${brief(entries)}`);
      entries.forEach((e, i) => {
        const want = done[i]!;
        const ev = e.event;
        check(Number(e.seq) === i && Number(ev?.seq) === i, `entry #${i}: expected seq ${i}, got ${brief({ seq: e.seq, eventSeq: ev?.seq })}`);
        check(
          ev.agent === b.module.name && ev.intent === want.intent,
          `entry #${i}: expected agent ${b.module.name} and intent ${want.intent}, got ${ev.agent}/${ev.intent}`,
        );
        check(sameBytes(ev.inputHash, sha256(want.input)), `entry #${i}: expected inputHash = SHA-256 of the operation's input, got ${brief(ev.inputHash)}`);
        check(ev.status === want.status, `entry #${i} (${want.intent}): expected status ${want.status}, got ${brief(ev.status)}`);
        check(Number(ev.logicalTime) === want.time, `entry #${i}: expected logicalTime ${want.time} (the operation's), got ${brief(ev.logicalTime)}`);
        if (want.status === 'ok') {
          check(
            sameBytes(ev.outputHash, sha256(want.output!)),
            `entry #${i}: expected outputHash = SHA-256 of the operation's output, got ${brief(ev.outputHash)}`,
          );
          check(Number(ev.cost) === want.cost, `entry #${i}: expected cost ${want.cost} (the kernel's), got ${brief(ev.cost)}`);
        }
      });
      check(entries.at(-1)!.head === h.head, `head: expected the last entry's head ${entries.at(-1)!.head}, got ${h.head}`);
    }),
};

const chain: Case<TraceContext> = {
  name: 'chain is Poseidon over the documented encoding',
  run: ({ subject }) =>
    withTrace(subject, async (call, b) => {
      let P: (xs: bigint[]) => Promise<bigint>;
      try {
        P = await poseidonOracle(call);
      } catch (e) {
        throw new CaseFailure(`cannot check the chain: the poseidon export fails its known answers (${(e as Error).message})`);
      }
      const done = await runOperations(b);
      const entries: Entry[] = await call('range', { from: 0, to: done.length - 1 });
      const utf8 = new TextEncoder();
      const be = (x: Uint8Array): bigint => x.reduce((r, v) => (r << 8n) | BigInt(v), 0n);
      const strField = async (s: string): Promise<bigint> => {
        const bytes = utf8.encode(s);
        let h = BigInt(bytes.length);
        for (let off = 0; off < bytes.length; off += 31) h = await P([h, be(bytes.subarray(off, off + 31))]);
        return h;
      };
      let head = 0n;
      for (const e of entries) {
        const ev = e.event;
        // An event with a cause is version 2: version 2 in a, and d = P(cause hi, lo) as a 4th input on top.
        const cause = ev.cause;
        const a = await P([cause === undefined ? 1n : 2n, BigInt(ev.seq), await strField(ev.agent), await strField(ev.intent)]);
        const bb = await P([
          be(ev.inputHash.subarray(0, 16)),
          be(ev.inputHash.subarray(16)),
          be(ev.outputHash.subarray(0, 16)),
          be(ev.outputHash.subarray(16)),
        ]);
        const c = await P([ev.status === 'ok' ? 0n : 1n, BigInt(ev.cost), BigInt(ev.logicalTime)]);
        const eventHash = cause === undefined ? await P([a, bb, c]) : await P([a, bb, c, await P([be(cause.subarray(0, 16)), be(cause.subarray(16))])]);
        const shape = cause === undefined ? 'P(a, b, c) of its event' : 'P(a, b, c, d) of its version 2 event';
        check(e.eventHash === eventHash.toString(), `entry #${e.seq}: expected eventHash ${eventHash} (${shape}), got ${e.eventHash}`);
        const cost = chainCost(BigInt(ev.cost));
        head = await P([head, eventHash, cost]);
        check(e.head === head.toString(), `entry #${e.seq}: expected head ${head} (P(previous head, eventHash, cost)), got ${e.head}`);
      }
    }),
};

const causes: Case<TraceContext> = {
  name: "an operation's cause comes back in its entry (ABI 1.2 op.cause)",
  run: ({ subject }) =>
    withTrace(subject, async (call, b) => {
      const done = await runOperations(b);
      const entries: Entry[] = await call('range', { from: 0, to: done.length - 1 });
      check(Array.isArray(entries) && entries.length === done.length, `range 0..${done.length - 1}: expected ${done.length} entries, got ${brief(entries)}`);
      entries.forEach((e, i) => {
        const want = done[i]!.cause;
        const got = e.event?.cause;
        if (want === undefined) {
          check(got === undefined, `entry #${i} (run without a cause): expected no cause member, got ${brief(got)}`);
        } else {
          check(
            sameBytes(got, want),
            `entry #${i} (run with a cause): expected event.cause = the operation's cause ${Buffer.from(want).toString('hex')}, got ${brief(got)}`,
            {
              expected: Buffer.from(want).toString('hex'),
              got: got instanceof Uint8Array ? Buffer.from(got).toString('hex') : brief(got),
            },
          );
        }
      });
      // get and the public kv layout carry it too: a reader of the store sees the same cause.
      const got = await call('get', { seq: CAUSED });
      check(sameBytes(got?.event?.cause, CAUSE), `get {seq: ${CAUSED}}: expected the entry with its cause, got ${brief(got?.event)}`);
      const stored = publicRecord(b, 'trace', 'kv.entry', traceEntryKey(CAUSED));
      check(sameBytes(stored.event.cause, CAUSE), `public kv layout: ${b.module.name} ${traceEntryKey(CAUSED)} lacks the operation's cause`);
    }),
};

const reads: Case<TraceContext> = {
  name: 'get, range and verifyRange',
  run: ({ subject }) =>
    withTrace(subject, async (call, b) => {
      const done = await runOperations(b);
      const last = done.length - 1;
      const entries: Entry[] = await call('range', { from: 0, to: last });
      for (const i of [0, last]) {
        const got = await call('get', { seq: i });
        check(canonical(got) === canonical(entries[i]), `get {seq: ${i}}: expected the entry range gives, got ${brief(got)}`);
        // The public kv layout (abi/ROLES.md): others read the chain from a store with no node running.
        const stored = publicRecord(b, 'trace', 'kv.entry', traceEntryKey(i));
        check(canonical(stored) === canonical(got), `public kv layout: ${b.module.name} ${traceEntryKey(i)} differs from what get answers`);
      }
      const head = publicRecord(b, 'trace', 'kv.head', TRACE_HEAD_KEY);
      check(canonical(head) === canonical(await call('head', {})), `public kv layout: ${b.module.name} ${TRACE_HEAD_KEY} differs from what head answers`);
      const sub: Entry[] = await call('range', { from: 1, to: 2 });
      check(
        sub.length === 2 && Number(sub[0]!.seq) === 1 && Number(sub[1]!.seq) === 2,
        `range 1..2: expected entries 1 and 2, got ${brief(sub.map((e) => e.seq))}`,
      );
      const v = await call('verifyRange', { from: 0, to: last });
      check(v?.ok === true, `verifyRange 0..${last} of an intact chain: expected {ok: true}, got ${brief(v)}`);
      const missing = await failure(b.kernel.callValue(b.module.name, 'get', { seq: last + 100 }), 'get of a seq past the head');
      check(missing.code === 'ENOTFOUND', `get of a seq past the head: expected ENOTFOUND, got ${missing.code}: ${missing.message}`);
      const wide = await failure(b.kernel.callValue(b.module.name, 'range', { from: 0, to: 5000 }), 'range of 5,001 entries');
      check(wide.code === 'ETOOBIG', `range of 5,001 entries: expected ETOOBIG (at most 1000), got ${wide.code}: ${wide.message}`);
      const bad = await failure(b.kernel.callValue(b.module.name, 'get', { seq: 'x' }), 'get with a text seq');
      check(bad instanceof Mcp0Error && bad.code === 'EINPUT', `get with a text seq: expected EINPUT, got ${bad.code}: ${bad.message}`);
    }),
};

/**
 * The trace role suite.
 * @example
 * const results = await runSuite(traceSuite, subject)
 */
export const traceSuite: Suite<PluginSubject, TraceContext> = {
  name: `role ${TRACE_ROLE}`,
  setup: async (subject) => ({ subject }),
  cases: [exportsCase('trace'), knownAnswers, observes, chain, causes, reads],
};
