/**
 * The mcp0.agreements@1 role suite: the contract of plugins/agreements/README.md, run against the
 * plugin under test as the admit and observe hook of a real kernel, configured to accept the
 * suite's provider key (`config.providers`). The agent whose operations are admitted is a second
 * instance of the same artifact (`conformance.agent`), bound to each agreement for its consumer,
 * so the suite needs no other module. The agent is paused: every admitted operation is refused by
 * the kernel before it runs (ESTATE), which makes it cost exactly 1 unit, the least there is, and
 * the bills computable by hand (an operation that runs is billed what it used, which depends on
 * the machine). Documents are made and signed with the host library in @mcp0/abi; the hostile
 * ones a signer could make without its checks are signed here directly.
 */
import {
  agreementKey,
  bindingKey,
  DeniedError,
  Mcp0Error,
  ROLE_NAMES,
  ed25519Sign,
  encodeCbor,
  generateKeyPair,
  signAgreement,
  type Agreement,
  type PrivateKey,
} from '@mcp0/abi';
import { CaseFailure, check, type Case, type Suite } from '../../runner/case.js';
import type { PluginSubject } from '../../runner/subject.js';
import { bench, grantsAsRequested, type Bench } from '../harness.js';
import { brief, caller, canonical, failure, publicRecord, type Caller } from './call.js';
import { exportsCase } from './exports.js';

/**
 * The role id.
 * @example
 * registerRoleSuite(AGREEMENTS_ROLE, mySuite) // replaces the standard suite
 */
export const AGREEMENTS_ROLE = ROLE_NAMES.agreements;

/** The agreements suite's context: the subject and the parties' keys. */
interface AgreementsContext {
  subject: PluginSubject;
  consumer: PrivateKey;
  provider: PrivateKey;
}

/** A whole UTC hour (500,000 hours since the epoch), so invoices over whole hours line up. */
const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;
const AGENT = 'conformance.agent';
/** The agent's intent (an export of the plugin under test: the kernel refuses any other). */
const INTENT = 'get';

/** A key whose id can also name a module instance (which must start with a letter or digit). */
function nameableKey(): PrivateKey {
  let k = generateKeyPair();
  while (!/^[A-Za-z0-9]/.test(k.kid)) k = generateKeyPair();
  return k;
}

/** An unsigned agreement between the suite's consumer and provider, valid for [T0, T0 + 30 days), with overrides. */
function doc(ctx: AgreementsContext, over: Partial<Agreement> = {}): Agreement {
  return {
    type: 'mcp0.agreement/1',
    id: 'agr-1',
    consumer: ctx.consumer.kid,
    provider: ctx.provider.kid,
    permissions: { intents: [INTENT], exports: [] },
    quotas: { windowMs: 60_000 },
    pricing: { currency: 'EUR', baseFee: 0, perCall: 0, perCostUnit: 0 },
    validity: { notBefore: T0, notAfter: T0 + 30 * 24 * HOUR },
    ...over,
  };
}

/** Signed by both parties. */
function signedBy(ctx: AgreementsContext, d: Agreement): Agreement {
  return signAgreement(signAgreement(d, ctx.consumer, 'consumer'), ctx.provider, 'provider');
}

/**
 * A signature made without the host library's checks, as a hostile signer can always make one:
 * Ed25519 over the canonical JSON of any document (`canonical` sorts members by UTF-16 code units
 * and the documents here hold only ASCII text and safe integers, so it is RFC 8785's form).
 */
function forceSign(d: Agreement, key: PrivateKey, party: 'consumer' | 'provider'): Agreement {
  const { signatures, ...body } = d;
  const sig = ed25519Sign(new TextEncoder().encode(canonical(body)), key.seed);
  return {
    ...d,
    signatures: [...(signatures ?? []), { party, key: Buffer.from(key.publicKey.bytes).toString('base64url'), sig: Buffer.from(sig).toString('base64url') }],
  };
}

/** Register a signed document and bind the agent to it for its consumer, as a node does at spawn. */
async function agree(ctx: AgreementsContext, call: Caller<'agreements'>, d: Agreement): Promise<void> {
  await call('register', { document: d });
  await call('bind', { agent: AGENT, agreement: d.id, consumer: ctx.consumer.kid });
}

/**
 * A kernel with the plugin as admit and observe hook (accepting the suite's provider, unless
 * `config` says otherwise) and a second instance as the agent.
 */
async function withAgreements<T>(
  ctx: AgreementsContext,
  work: (call: Caller<'agreements'>, b: Bench) => Promise<T>,
  config: Record<string, unknown> = { providers: [ctx.provider.kid] },
): Promise<T> {
  const b = await bench(ctx.subject, { config: config as never });
  try {
    const agent = await b.kernel.load(ctx.subject.bytes, { name: AGENT, grants: grantsAsRequested(ctx.subject.manifest) });
    agent.pause();
    b.kernel.setPipeline({ admit: [b.module.name], observe: [b.module.name] });
    return await work(caller(b.kernel, b.module.name, 'agreements'), b);
  } finally {
    await b.close();
  }
}

/** One operation of the agent at logical time `time`: admitted (it ran, whatever its result), or denied. */
type Verdict = { admitted: true } | { admitted: false; reason: string; retryAfterMs?: number };

async function operate(b: Bench, time: number, agent = AGENT): Promise<Verdict> {
  try {
    await b.kernel.execute({ agent, intent: INTENT, input: encodeCbor({ id: 'no-such-agreement' }), time });
    return { admitted: true };
  } catch (e) {
    if (e instanceof DeniedError || (e instanceof Mcp0Error && e.code === 'EDENIED')) {
      const d = (e as Mcp0Error).details as { reason?: unknown; retryAfterMs?: unknown } | undefined;
      return { admitted: false, reason: String(d?.reason ?? e.message), ...(typeof d?.retryAfterMs === 'number' ? { retryAfterMs: d.retryAfterMs } : {}) };
    }
    if (e instanceof Mcp0Error) return { admitted: true }; // admitted; refused by the paused agent
    throw new CaseFailure(`execute at ${time}: expected an admission or a typed denial, got ${String(e)}`);
  }
}

/** Fails unless the operation was denied with a reason starting with `token`. */
function expectDenied(v: Verdict, token: string, what: string): { reason: string; retryAfterMs?: number } {
  if (v.admitted) throw new CaseFailure(`${what}: expected a denial "${token}: …", got the operation admitted`);
  check(v.reason.startsWith(`${token}:`), `${what}: expected a denial "${token}: …", got "${v.reason}"`);
  return v;
}

const register: Case<AgreementsContext> = {
  name: 'register verifies both signatures',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      const name = b.module.name;
      const good = signedBy(ctx, doc(ctx));
      const r = await call('register', { document: good });
      check(
        r?.id === 'agr-1' && r?.consumer === ctx.consumer.kid,
        `register of a document signed by both: expected {id: "agr-1", consumer: "${ctx.consumer.kid}", …}, got ${brief(r)}`,
      );
      await call('register', { document: good }); // the same document again: a no-op
      const tampered = { ...signedBy(ctx, doc(ctx, { id: 'agr-2' })), quotas: { windowMs: 60_000, callsPerWindow: 1_000_000 } };
      const t = await failure(b.kernel.callValue(name, 'register', { document: tampered as never }), 'register of a document changed after signing');
      check(t.code === 'ESIGNATURE', `register of a document changed after signing: expected ESIGNATURE, got ${t.code}: ${t.message}`);
      const single = signAgreement(doc(ctx, { id: 'agr-3' }), ctx.consumer, 'consumer');
      const s = await failure(b.kernel.callValue(name, 'register', { document: single as never }), 'register of a document signed by the consumer only');
      check(
        s.code === 'ESIGNATURE' || s.code === 'EINPUT',
        `register of a document signed by the consumer only: expected ESIGNATURE (both parties must sign), got ${s.code}: ${s.message}`,
      );
      const forged = signedBy(ctx, doc(ctx, { id: 'agr-4' }));
      const withProviderKey = {
        ...forged,
        signatures: forged.signatures!.map((x) => (x.party === 'provider' ? { ...x, sig: good.signatures!.find((g) => g.party === 'provider')!.sig } : x)),
      };
      const f = await failure(
        b.kernel.callValue(name, 'register', { document: withProviderKey as never }),
        'register with a signature copied from another document',
      );
      check(f.code === 'ESIGNATURE', `register with a provider signature copied from another document: expected ESIGNATURE, got ${f.code}: ${f.message}`);
      const conflict = await failure(
        b.kernel.callValue(name, 'register', { document: signedBy(ctx, doc(ctx, { quotas: { windowMs: 1_000 } })) as never }),
        'register of another document under a registered id',
      );
      check(conflict.code === 'ECONFLICT', `register of another document under a registered id: expected ECONFLICT, got ${conflict.code}: ${conflict.message}`);
      for (const id of ['agr-2', 'agr-3', 'agr-4']) {
        const g = await failure(b.kernel.callValue(name, 'get', { id }), `get of refused ${id}`);
        check(g.code === 'ENOTFOUND', `get of ${id}, whose registration was refused: expected ENOTFOUND, got ${g.code}`);
      }
    }),
};

const binding: Case<AgreementsContext> = {
  name: 'binding answers the bound agreement, and the public kv layout holds it',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      const never = await call('binding', { agent: 'acme.never-bound' });
      check(never.agreement === null, `binding of an agent never bound: expected agreement null, got ${brief(never)}`);
      const d = signedBy(ctx, doc(ctx));
      await agree(ctx, call, d);
      const bound = await call('binding', { agent: AGENT });
      check(bound.agent === AGENT && bound.agreement === d.id, `binding after bind: expected {agent: "${AGENT}", agreement: "${d.id}"}, got ${brief(bound)}`);
      // Others read these two records with no node running (abi/ROLES.md): their keys and shapes are the contract's.
      const where = (key: string) => `${b.module.name} ${key}`;
      const id = publicRecord(b, 'agreements', 'kv.binding', bindingKey(AGENT));
      check(id === d.id, `public kv layout: expected ${where(bindingKey(AGENT))} to hold ${JSON.stringify(d.id)}, got ${brief(id)}`);
      const record = publicRecord(b, 'agreements', 'kv.agreement', agreementKey(d.id));
      check(canonical(record) === canonical(await call('get', { id: d.id })), `public kv layout: ${where(agreementKey(d.id))} differs from what get answers`);
      await call('unbind', { agent: AGENT });
      const after = await call('binding', { agent: AGENT });
      check(after.agreement === null, `binding after unbind: expected agreement null, got ${brief(after)}`);
      check(b.kv.get(b.module.name, bindingKey(AGENT)) === undefined, `public kv layout: expected ${where(bindingKey(AGENT))} gone after unbind`);
    }),
};

const reasons: Case<AgreementsContext> = {
  name: 'admit denies with a reason',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      expectDenied(await operate(b, T0), 'no-agreement', 'an operation with no agreement');
      const d = doc(ctx, { validity: { notBefore: T0 + 5_000, notAfter: T0 + HOUR } });
      await agree(ctx, call, signedBy(ctx, d));
      const early = expectDenied(await operate(b, T0), 'not-yet-valid', 'an operation before notBefore');
      check(early.retryAfterMs === 5_000, `an operation 5,000 ms before notBefore: expected retryAfterMs 5000, got ${brief(early.retryAfterMs)}`);
      check((await operate(b, T0 + 5_000)).admitted, 'an operation at notBefore: expected it admitted');
      expectDenied(await operate(b, T0 + HOUR), 'expired', 'an operation at notAfter');
      await agree(ctx, call, signedBy(ctx, doc(ctx, { id: 'agr-0', permissions: { intents: ['other'], exports: [] } })));
      expectDenied(await operate(b, T0 + 10_000), 'not-permitted', `an operation whose intent ${INTENT} the bound agreement does not permit`);
    }),
};

const quota: Case<AgreementsContext> = {
  name: 'quota: exactly callsPerWindow admitted, then quota-exhausted',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      await agree(ctx, call, signedBy(ctx, doc(ctx, { quotas: { windowMs: 60_000, callsPerWindow: 3 } })));
      const verdicts: Verdict[] = [];
      for (let i = 0; i < 5; i++) verdicts.push(await operate(b, T0 + 1_000 + i));
      const admitted = verdicts.filter((v) => v.admitted).length;
      check(admitted === 3, `5 operations under callsPerWindow 3: expected exactly 3 admitted, got ${admitted}`);
      const denied = expectDenied(verdicts[3]!, 'quota-exhausted', 'the 4th operation in a window of 3 calls');
      check(
        denied.retryAfterMs === 60_000 - 1_003,
        `the 4th operation at ${T0 + 1_003}: expected retryAfterMs ${60_000 - 1_003} (until the next window), got ${brief(denied.retryAfterMs)}`,
      );
      check((await operate(b, T0 + 60_000)).admitted, 'the first operation of the next window: expected it admitted');
      // Concurrent operations racing for the last units: still exactly the quota.
      const racing = await Promise.all(Array.from({ length: 6 }, (_, i) => operate(b, T0 + 120_000 + i)));
      const raced = racing.filter((v) => v.admitted).length;
      check(raced === 3, `6 concurrent operations in a fresh window of 3 calls: expected exactly 3 admitted, got ${raced}`);
    }),
};

const otherQuotas: Case<AgreementsContext> = {
  name: 'quota: cost units and stored bytes',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      await agree(ctx, call, signedBy(ctx, doc(ctx, { quotas: { windowMs: 60_000, costUnitsPerWindow: 2, storageBytes: 1000 } })));
      // Each operation costs 1 unit, known only afterwards: the two that use the units run, the next is denied.
      const verdicts: Verdict[] = [];
      for (let i = 0; i < 3; i++) verdicts.push(await operate(b, T0 + 1_000 + i));
      check(
        verdicts[0]!.admitted && verdicts[1]!.admitted,
        `2 operations under costUnitsPerWindow 2: expected both admitted, got ${brief(verdicts.slice(0, 2))}`,
      );
      expectDenied(verdicts[2]!, 'quota-exhausted', "an operation once the window's 2 cost units are used");
      // Operations racing for a fresh window's units: each in flight holds at least its one unit, so exactly 2 run.
      const racing = await Promise.all(Array.from({ length: 5 }, (_, i) => operate(b, T0 + 180_000 + i)));
      const raced = racing.filter((v) => v.admitted).length;
      check(raced === 2, `5 concurrent operations of cost 1 in a fresh window of 2 cost units: expected exactly 2 admitted, got ${raced}`);
      await call('meter', { agent: AGENT, storageBytes: 1000 });
      check((await operate(b, T0 + 60_000)).admitted, 'an operation storing exactly storageBytes (1000): expected it admitted');
      await call('meter', { agent: AGENT, storageBytes: 1001 });
      expectDenied(await operate(b, T0 + 120_000), 'quota-exhausted', 'an operation storing 1001 bytes under storageBytes 1000');
    }),
};

const revoke: Case<AgreementsContext> = {
  name: 'revoke: later operations are denied',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      await agree(ctx, call, signedBy(ctx, doc(ctx)));
      check((await operate(b, T0 + 1_000)).admitted, 'an operation under a registered agreement: expected it admitted');
      const r = await call('revoke', { id: 'agr-1' });
      check(r?.revoked === true, `revoke: expected {revoked: true}, got ${brief(r)}`);
      const g = await call('get', { id: 'agr-1' });
      check(g?.revoked === true, `get after revoke: expected revoked: true, got ${brief(g?.revoked)}`);
      expectDenied(await operate(b, T0 + 2_000), 'revoked', 'an operation after revoke');
      const again = await failure(b.kernel.callValue(b.module.name, 'register', { document: signedBy(ctx, doc(ctx)) as never }), 'register of a revoked id');
      check(again.code === 'ESTATE', `register of a revoked id: expected ESTATE, got ${again.code}: ${again.message}`);
    }),
};

const billing: Case<AgreementsContext> = {
  name: 'usage and invoice: integer totals',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      await agree(ctx, call, signedBy(ctx, doc(ctx, { pricing: { currency: 'EUR', baseFee: 1000, perCall: 7, perCostUnit: 3 } })));
      for (let i = 0; i < 5; i++) check((await operate(b, T0 + HOUR + i)).admitted, `operation ${i}: expected it admitted`);
      const u = await call('usage', { consumer: ctx.consumer.kid, window: T0 + HOUR });
      const line = Array.isArray(u?.agreements) ? u.agreements.find((a: { id: string }) => a.id === 'agr-1') : undefined;
      check(line !== undefined, `usage: expected a line for agr-1, got ${brief(u)}`);
      check(
        Number(line.calls) === 5 && Number(line.costUnits) === 5,
        `usage: expected 5 calls and 5 cost units (each refused operation costs 1), got calls ${brief(line.calls)}, costUnits ${brief(line.costUnits)}`,
      );
      const inv = await call('invoice', { consumer: ctx.consumer.kid, from: T0, to: T0 + 24 * HOUR });
      const want = [
        { agreement: 'agr-1', item: 'base', quantity: 1, unitPrice: 1000, amount: 1000, currency: 'EUR' },
        { agreement: 'agr-1', item: 'calls', quantity: 5, unitPrice: 7, amount: 35, currency: 'EUR' },
        { agreement: 'agr-1', item: 'costUnits', quantity: 5, unitPrice: 3, amount: 15, currency: 'EUR' },
      ];
      check(canonical(inv?.lines) === canonical(want), `invoice lines: expected ${brief(want)}, got ${brief(inv?.lines)}`);
      check(
        canonical(inv?.totals) === canonical([{ currency: 'EUR', amount: 1050 }]),
        `invoice totals: expected 1000 + 5 × 7 + 5 × 3 = 1050 EUR, got ${brief(inv?.totals)}`,
      );
      const all: unknown[] = [...inv.lines.map((l: { amount: unknown }) => l.amount), ...inv.totals.map((t: { amount: unknown }) => t.amount)];
      check(
        all.every((x) => Number.isInteger(Number(x)) && typeof x !== 'string'),
        `invoice: expected integer amounts in minor units, got ${brief(all)}`,
      );
    }),
};

const parties: Case<AgreementsContext> = {
  name: 'parties: two key ids, a provider the operator accepts, the bound consumer',
  run: (ctx) =>
    withAgreements(ctx, async (call, b) => {
      const name = b.module.name;
      const refused = async (d: unknown, what: string, code: string) => {
        const e = await failure(b.kernel.callValue(name, 'register', { document: d as never }), what);
        check(e.code === code, `${what}: expected ${code}, got ${e.code}: ${e.message}`);
        return e;
      };
      // A provider the node's operator does not list (config.providers), though both signatures verify.
      const stranger = generateKeyPair();
      const other = signAgreement(signAgreement(doc(ctx, { id: 'agr-s', provider: stranger.kid }), ctx.consumer, 'consumer'), stranger, 'provider');
      const e = await refused(other, 'register of a document whose provider is not in config.providers', 'EPERM');
      check(e.message.includes(stranger.kid), `register with an unlisted provider: expected the message to name it (${stranger.kid}), got ${e.message}`);
      // A party that is not a key id: any key could sign for it.
      const named = forceSign(forceSign(doc(ctx, { id: 'agr-n', consumer: 'acme.notes' }), generateKeyPair(), 'consumer'), ctx.provider, 'provider');
      await refused(named, 'register of a document whose consumer is an agent id (acme.notes)', 'EINPUT');
      // One key on both sides: the accepted provider agreeing with itself to a free plan.
      const self = forceSign(
        forceSign(
          doc(ctx, { id: 'agr-x', consumer: ctx.provider.kid, pricing: { currency: 'EUR', baseFee: 0, perCall: 0, perCostUnit: 0 } }),
          ctx.provider,
          'consumer',
        ),
        ctx.provider,
        'provider',
      );
      await refused(self, 'register of a document whose consumer and provider are the same key', 'EINPUT');
      for (const id of ['agr-s', 'agr-n', 'agr-x']) {
        const g = await failure(b.kernel.callValue(name, 'get', { id }), `get of refused ${id}`);
        check(g.code === 'ENOTFOUND', `get of ${id}, whose registration was refused: expected ENOTFOUND, got ${g.code}`);
      }
      // Bind only for the agreement's consumer: an agent acting for another key is refused, and nothing runs.
      await call('register', { document: signedBy(ctx, doc(ctx)) });
      const bob = generateKeyPair();
      const bound = await failure(
        b.kernel.callValue(name, 'bind', { agent: AGENT, agreement: 'agr-1', consumer: bob.kid }),
        'bind for a key that is not the consumer',
      );
      check(
        bound.code === 'EPERM',
        `bind of an agent acting for ${bob.kid} to an agreement of ${ctx.consumer.kid}: expected EPERM, got ${bound.code}: ${bound.message}`,
      );
      expectDenied(await operate(b, T0 + 1_000), 'no-agreement', 'an operation of an agent whose bind was refused');
      // A module named after the consumer's key id gets no agreement by its name alone.
      const namesake = await b.kernel.load(ctx.subject.bytes, { name: ctx.consumer.kid, grants: grantsAsRequested(ctx.subject.manifest) });
      namesake.pause();
      expectDenied(
        await operate(b, T0 + 2_000, ctx.consumer.kid),
        'no-agreement',
        `an operation of a module named ${ctx.consumer.kid} (the consumer's key id), never bound`,
      );
    }),
};

const unconfigured: Case<AgreementsContext> = {
  name: 'parties: with no providers configured, register refuses every document',
  run: (ctx) =>
    withAgreements(
      ctx,
      async (_call, b) => {
        const e = await failure(b.kernel.callValue(b.module.name, 'register', { document: signedBy(ctx, doc(ctx)) as never }), 'register with config {}');
        check(e.code === 'EPERM', `register on a plugin configured with {} (no providers): expected EPERM, got ${e.code}: ${e.message}`);
        check(
          e.message.includes('config.providers'),
          `register with no providers configured: expected the message to say how to configure them (config.providers), got ${e.message}`,
        );
      },
      {},
    ),
};

/**
 * The agreements role suite.
 * @example
 * const results = await runSuite(agreementsSuite, subject)
 */
export const agreementsSuite: Suite<PluginSubject, AgreementsContext> = {
  name: `role ${AGREEMENTS_ROLE}`,
  setup: async (subject) => ({ subject, consumer: nameableKey(), provider: generateKeyPair() }),
  cases: [exportsCase('agreements'), register, binding, parties, unconfigured, reasons, quota, otherQuotas, revoke, billing],
};
