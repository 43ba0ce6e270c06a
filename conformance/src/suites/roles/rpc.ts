/**
 * The mcp0.rpc@1 role suite: the contract of abi/ROLES.md ("`mcp0.rpc@1`") run against the plugin
 * under test in a real kernel, configured with the suite's operator key (`config.operators`), over
 * a kv the suite can hand to a second kernel (a restart) and a clock it moves. Envelopes are made
 * with the host library (`signEnvelope` in @mcp0/abi) and forged by editing their CBOR. Each case
 * holds a stand-in to one part of the contract: a good envelope is accepted with the answer the
 * contract gives, forged, malformed, replayed, stale, future, late and unauthorised ones are refused
 * with the contract's code and reason, and the token buckets are exact.
 */
import { createHash } from 'node:crypto';
import { decodeCbor, encodeCbor, generateKeyPair, Mcp0Error, ROLE_NAMES, signEnvelope, type PrivateKey } from '@mcp0/abi';
import { check, type Case, type Suite } from '../../runner/case.js';
import type { PluginSubject } from '../../runner/subject.js';
import { BENCH_TIME, bench, type Bench, type RecordingKv } from '../harness.js';
import { brief, caller, failure, sameBytes, type Caller } from './call.js';
import { exportsCase } from './exports.js';

/**
 * The role id.
 * @example
 * registerRoleSuite(RPC_ROLE, mySuite) // replaces the standard suite
 */
export const RPC_ROLE = ROLE_NAMES.rpc;

/** The rpc suite's context: the subject and the keys: the node's operator, an agent's consumer, a stranger. */
interface RpcContext {
  subject: PluginSubject;
  operator: PrivateKey;
  consumer: PrivateKey;
  stranger: PrivateKey;
}

/** The role's defaults (abi/ROLES.md), which the suite's configs keep. */
const WINDOW = 300_000;
const SKEW = 30_000;
const MAX_DEADLINE = 300_000;
const NOW = BENCH_TIME;
const PAYLOAD = new TextEncoder().encode('{"text":"buy milk"}');
const AGENT = 'notes';
const METHOD = 'remember';

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** A bench with the plugin under test, the clock it reads, and a caller for verify. */
interface RpcBench {
  b: Bench;
  clock: { now: number };
  call: Caller<'rpc'>;
  /** verify's typed refusal of `input`; fails the case when it is accepted. */
  refusal(input: unknown, what: string): Promise<Mcp0Error>;
}

/** A bench for one case, configured with the operator (and `config`), over `kv` when given (a restart). */
async function withRpc<T>(ctx: RpcContext, work: (r: RpcBench) => Promise<T>, config: Record<string, unknown> = {}, kv?: RecordingKv): Promise<T> {
  const clock = { now: NOW };
  const b = await bench(ctx.subject, {
    config: { operators: [ctx.operator.kid], ...config } as never,
    providers: { clock: { now: () => clock.now }, ...(kv ? { kv } : {}) },
  });
  try {
    const refusal = (input: unknown, what: string) => failure(b.kernel.callValue(b.module.name, 'verify', input as never), what);
    return await work({ b, clock, call: caller(b.kernel, b.module.name, 'rpc'), refusal });
  } finally {
    await b.close();
  }
}

/** An envelope for agent `notes`, method `remember`, signed by the consumer at NOW with a deadline 5 s on, unless told. */
function envelope(
  ctx: RpcContext,
  over: { key?: PrivateKey; target?: string; method?: string; payload?: Uint8Array; time?: number; deadline?: number; nonce?: Uint8Array } = {},
): Uint8Array {
  const time = over.time ?? NOW;
  return signEnvelope({
    key: over.key ?? ctx.consumer,
    target: over.target ?? AGENT,
    method: over.method ?? METHOD,
    payload: over.payload ?? PAYLOAD,
    time,
    deadline: over.deadline ?? time + 5_000,
    ...(over.nonce ? { nonce: over.nonce } : {}),
  });
}

/** The request: the envelope, the payload, and the consumer of the agent's agreement (the suite's consumer unless told). */
function request(ctx: RpcContext, bytes: Uint8Array, consumer: string | null = ctx.consumer.kid, payload: Uint8Array = PAYLOAD) {
  return { envelope: bytes, payload, consumer };
}

/** The envelope with `edit` applied to its decoded map, re-encoded, its signature left as it was. */
function edited(bytes: Uint8Array, edit: (m: Record<string, unknown>) => void): Uint8Array {
  const m = decodeCbor(bytes) as Record<string, unknown>;
  edit(m);
  return encodeCbor(m as never);
}

/** Fails unless `e` has `code` and, when given, a message starting with `token:`. */
function expectRefusal(e: Mcp0Error, code: string, what: string, token?: string): void {
  check(
    e.code === code && (token === undefined || e.message.startsWith(`${token}:`)),
    `${what}: expected ${code}${token === undefined ? '' : ` "${token}: …"`}, got ${e.code}: ${e.message}`,
  );
}

const accepts: Case<RpcContext> = {
  name: 'verify accepts a good envelope and answers who, what, until when and its hash',
  run: (ctx) =>
    withRpc(ctx, async ({ call }) => {
      const bytes = envelope(ctx);
      const a = await call('verify', request(ctx, bytes));
      check(
        a.caller === ctx.consumer.kid && a.target === AGENT && a.method === METHOD && a.deadline === NOW + 5_000,
        `verify of the consumer's call of ${AGENT}/${METHOD}: expected {caller: "${ctx.consumer.kid}", target: "${AGENT}", method: "${METHOD}", deadline: ${NOW + 5_000}, …}, got ${brief(a)}`,
      );
      check(sameBytes(a.envelopeHash, sha256(bytes)), `verify: expected envelopeHash to be the SHA-256 of the envelope's bytes, got ${brief(a.envelopeHash)}`);
      const node = envelope(ctx, { key: ctx.operator, target: '', method: 'mcp0.v1.Node/ListAgents' });
      const n = await call('verify', request(ctx, node, null));
      check(
        n.caller === ctx.operator.kid && n.target === '',
        `verify of an operator's call of the node: expected {caller: "${ctx.operator.kid}", target: "", …}, got ${brief(n)}`,
      );
    }),
};

const forged: Case<RpcContext> = {
  name: 'verify refuses forged envelopes (ESIGNATURE) and malformed ones (EINPUT)',
  run: (ctx) =>
    withRpc(ctx, async ({ refusal }) => {
      const good = envelope(ctx);
      const mallory = generateKeyPair();
      const forgeries: [string, Uint8Array, Uint8Array][] = [
        ['a flipped signature bit', edited(good, (m) => ((m.sig as Uint8Array)[0]! ^= 1)), PAYLOAD],
        ['another target, the signature kept', edited(good, (m) => (m.target = 'wallet')), PAYLOAD],
        ['another key, the same caller', edited(good, (m) => (m.key = mallory.publicKey.bytes)), PAYLOAD],
        [
          "another key and its own id, the consumer's signature",
          edited(good, (m) => {
            m.key = mallory.publicKey.bytes;
            m.caller = mallory.kid;
          }),
          PAYLOAD,
        ],
        ['another payload than the one signed', good, new TextEncoder().encode('{"text":"sell milk"}')],
      ];
      for (const [what, bytes, payload] of forgeries)
        expectRefusal(await refusal(request(ctx, bytes, ctx.consumer.kid, payload), `verify of ${what}`), 'ESIGNATURE', `verify of ${what}`);
      const malformed: [string, Uint8Array][] = [
        ['an envelope with an unknown member', edited(good, (m) => (m.extra = 1))],
        ['an envelope of version 2', edited(good, (m) => (m.v = 2))],
        ['an envelope with an 8-byte nonce', edited(good, (m) => (m.nonce = new Uint8Array(8)))],
        ['an envelope that is not CBOR', Uint8Array.of(0xff)],
      ];
      for (const [what, bytes] of malformed) expectRefusal(await refusal(request(ctx, bytes), `verify of ${what}`), 'EINPUT', `verify of ${what}`);
    }),
};

const replay: Case<RpcContext> = {
  name: 'verify refuses a replayed nonce (EPERM replay), also after a restart over the same kv',
  run: async (ctx) => {
    const bytes = envelope(ctx);
    let kv: RecordingKv | undefined;
    await withRpc(ctx, async ({ b, call, refusal }) => {
      kv = b.kv;
      await call('verify', request(ctx, bytes));
      expectRefusal(await refusal(request(ctx, bytes), 'verify of the same envelope again'), 'EPERM', 'verify of the same envelope again', 'replay');
      // Another envelope of the same caller with the same nonce is the same pair.
      const nonce = (decodeCbor(bytes) as { nonce: Uint8Array }).nonce;
      const same = envelope(ctx, { nonce, method: 'forget' });
      expectRefusal(
        await refusal(request(ctx, same), 'verify of another envelope with a used nonce'),
        'EPERM',
        'verify of another envelope with a used nonce',
        'replay',
      );
    });
    // A new instance over the same kv: the contract keeps seen nonces in kv, so a restart does not reopen the window.
    await withRpc(
      ctx,
      async ({ refusal, clock }) => {
        clock.now = NOW + 1_000;
        expectRefusal(
          await refusal(request(ctx, bytes), 'verify of a used envelope after a restart'),
          'EPERM',
          'verify of a used envelope after a restart',
          'replay',
        );
      },
      {},
      kv,
    );
  },
};

const time: Case<RpcContext> = {
  name: 'verify refuses stale and future envelopes (EPERM), passed deadlines (ETIMEOUT) and far ones (EINPUT)',
  run: async (ctx) => {
    // A deadline may reach past the window here, so an envelope at the window's edge is still in time.
    await withRpc(
      ctx,
      async ({ call, refusal, clock }) => {
        await call('verify', request(ctx, envelope(ctx, { time: NOW + SKEW })));
        await call('verify', request(ctx, envelope(ctx, { time: NOW - WINDOW, deadline: NOW + 1 })));
        const future = await refusal(request(ctx, envelope(ctx, { time: NOW + SKEW + 1 })), `verify of an envelope signed ${SKEW + 1} ms ahead`);
        expectRefusal(future, 'EPERM', `verify of an envelope signed ${SKEW + 1} ms ahead of the clock (skewMs ${SKEW})`, 'future');
        const stale = await refusal(request(ctx, envelope(ctx, { time: NOW - WINDOW - 1, deadline: NOW + 1 })), 'verify of a stale envelope');
        expectRefusal(stale, 'EPERM', `verify of an envelope signed ${WINDOW + 1} ms ago (replayWindowMs ${WINDOW})`, 'stale');
        clock.now = NOW + 10_000;
        const late = await refusal(request(ctx, envelope(ctx, { time: NOW + 5_000, deadline: NOW + 10_000 })), 'verify of a call past its deadline');
        expectRefusal(late, 'ETIMEOUT', 'verify of an envelope whose deadline is now');
      },
      { maxDeadlineMs: 2 * WINDOW },
    );
    await withRpc(ctx, async ({ call, refusal }) => {
      await call('verify', request(ctx, envelope(ctx, { deadline: NOW + MAX_DEADLINE })));
      const far = await refusal(request(ctx, envelope(ctx, { deadline: NOW + MAX_DEADLINE + 1 })), 'verify of a far deadline');
      expectRefusal(far, 'EINPUT', `verify of an envelope whose deadline is ${MAX_DEADLINE + 1} ms after its time (maxDeadlineMs ${MAX_DEADLINE})`);
    });
  },
};

const authority: Case<RpcContext> = {
  name: 'verify refuses callers without authority (EPERM not-authorised)',
  run: (ctx) =>
    withRpc(ctx, async ({ refusal }) => {
      const node = envelope(ctx, { key: ctx.stranger, target: '', method: 'mcp0.v1.Node/ListAgents' });
      expectRefusal(
        await refusal(request(ctx, node, null), 'a node method'),
        'EPERM',
        'verify of a node method called by a key not in config.operators',
        'not-authorised',
      );
      const other = envelope(ctx, { key: ctx.stranger });
      expectRefusal(
        await refusal(request(ctx, other, ctx.consumer.kid), 'an agent call'),
        'EPERM',
        "verify of an agent's method called by a key other than its agreement's consumer",
        'not-authorised',
      );
      expectRefusal(
        await refusal(request(ctx, envelope(ctx), null), 'an unbound agent'),
        'EPERM',
        'verify of a call of an agent bound to no agreement (consumer null)',
        'not-authorised',
      );
    }),
};

const rate: Case<RpcContext> = {
  name: 'rate: burst calls pass, the next waits exactly (EDENIED, details.retryAfterMs), per method',
  run: (ctx) =>
    withRpc(
      ctx,
      async ({ call, refusal, clock }) => {
        const at = () => request(ctx, envelope(ctx, { time: clock.now }));
        const tokens = [(await call('verify', at())).tokens, (await call('verify', at())).tokens];
        check(tokens[0] === 1 && tokens[1] === 0, `2 calls with burst 2: expected tokens 1 then 0, got ${brief(tokens)}`);
        const e = await refusal(at(), 'the 3rd call with burst 2');
        check(
          e.code === 'EDENIED' && e.message.startsWith('rate-limited:') && e.details.retryAfterMs === 334,
          `the 3rd call with burst 2 at 3 a second: expected EDENIED "rate-limited: …" with details.retryAfterMs 334 (⌈1000 / 3⌉), got ${e.code}: ${e.message} ${brief(e.details)}`,
        );
        clock.now = NOW + 333;
        const early = await refusal(at(), 'a call 333 ms on');
        check(
          early.details.retryAfterMs === 1,
          `a call 333 ms on (999 of 1,000 milli-tokens back): expected details.retryAfterMs 1, got ${brief(early.details.retryAfterMs)}`,
        );
        clock.now = NOW + 334;
        const back = await call('verify', at());
        check(back.tokens === 0, `a call 334 ms on: expected it accepted with tokens 0, got ${brief(back)}`);
        // Another method has its own bucket, with config.methods' rate for it.
        const other = await call('verify', request(ctx, envelope(ctx, { method: 'forget', time: clock.now })));
        check(other.tokens === 4, `the first call of "forget" (config.methods: burst 5): expected tokens 4, got ${brief(other.tokens)}`);
      },
      { rate: { perSecond: 3, burst: 2 }, methods: { forget: { perSecond: 1, burst: 5 } } },
    ),
};

/**
 * The rpc role suite.
 * @example
 * const results = await runSuite(rpcSuite, subject)
 */
export const rpcSuite: Suite<PluginSubject, RpcContext> = {
  name: `role ${RPC_ROLE}`,
  setup: async (subject) => ({ subject, operator: generateKeyPair(), consumer: generateKeyPair(), stranger: generateKeyPair() }),
  cases: [exportsCase('rpc'), accepts, forged, replay, time, authority, rate],
};
