/**
 * One phase of the budgets run: a node on a fresh store, the agents spawned (under a signed
 * agreement when the distribution provides agreements), the paced reference workload, and what
 * the sampler and the kernel's metering saw while it ran. The store is a temporary LMDB directory
 * unless the caller names one, and is deleted after.
 *
 * The workload plays both sides of its agreement, as an application and an operator would: a
 * fresh consumer key signs the agents (the node binds an agent only to an agreement of the key
 * that signed it) and a fresh provider key is added to the agreements plugin's `config.providers`
 * (a node registers agreements only with providers its operator accepts). The agent modules are
 * verified against the caller's trust before they are re-signed with the consumer key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeniedError,
  generateKeyPair,
  newAgreement,
  readManifest,
  ROLE_NAMES,
  signAgreement,
  signModule,
  stripSignatures,
  verifyModule,
  type CborValue,
  type PrivateKey,
  type PublicKey,
} from '@mcp0/abi';
import { Node, UsageSampler, type Agent, type LoadedDistribution, type UsageSample, type UsageSummary } from '@mcp0/sdk';
import type { BudgetReport } from '../report/types.js';
import { paced } from './pace.js';
import { REFERENCE_WORKLOAD, planOperation } from './workload.js';

type Metering = BudgetReport['metering'][string];
type Kind = 'memory' | 'counter';

/** What one phase measured. */
export interface PhaseResult {
  usage: UsageSummary;
  samples: readonly UsageSample[];
  /** Per module over the workload only, agents labelled `agent:<name>`. */
  metering: Record<string, Metering>;
  /** The names of the plugins that provide mcp0.agreements@1. */
  agreements: string[];
  agents: number;
  operations: number;
  errors: number;
  denials: number;
}

/** How a phase runs. */
export interface PhaseOptions {
  durationS: number;
  coreFactor: number;
  modules: Record<Kind, Uint8Array>;
  trust: PublicKey[];
  store?: string;
  /** Leave out the operations the agreement denies (for the phase without agreements, so both do the same work). */
  skipDenied?: boolean;
  progress: (text: string) => void;
}

const AGREEMENT_ID = 'mcp0.conformance.budgets';

/** The per-module metering accumulated between two snapshots of `kernel.metrics()`. */
function meteringDelta(
  before: ReturnType<Node['metrics']>['modules'],
  after: ReturnType<Node['metrics']>['modules'],
  label: (name: string) => string,
): Record<string, Metering> {
  const out: Record<string, Metering> = {};
  for (const [name, m] of Object.entries(after)) {
    const b = before[name];
    out[label(name)] = {
      calls: m.calls - (b?.calls ?? 0),
      errors: m.errors - (b?.errors ?? 0),
      costUnits: m.costUnits - (b?.costUnits ?? 0),
      wallUsTotal: Math.max(0, m.wallUs.total - (b?.wallUs.total ?? 0)),
      // A histogram cannot be subtracted: p99 is over the module's life, set-up calls included.
      p99Us: m.wallUs.p99,
    };
  }
  return out;
}

/** The workload's two parties: the application (consumer, agent signer) and the operator (provider). */
interface Parties {
  consumer: PrivateKey;
  provider: PrivateKey;
}

/** The agent modules, checked against the caller's trust, then signed by the consumer alone. */
function signedByConsumer(modules: Record<Kind, Uint8Array>, trust: readonly PublicKey[], consumer: PrivateKey): Record<Kind, Uint8Array> {
  const resign = (bytes: Uint8Array) => {
    verifyModule(bytes, trust);
    return signModule(stripSignatures(bytes), consumer);
  };
  return { memory: resign(modules.memory), counter: resign(modules.counter) };
}

/** The distribution with `provider` added to the `config.providers` of every plugin providing mcp0.agreements@1. */
function acceptingProvider(distribution: LoadedDistribution, provider: string): LoadedDistribution {
  const plugins = distribution.plugins.map((p) => {
    if (!(readManifest(p.bytes).provides ?? []).includes(ROLE_NAMES.agreements)) return p;
    const config = (
      p.config !== null && typeof p.config === 'object' && !Array.isArray(p.config) && !(p.config instanceof Uint8Array) ? p.config : {}
    ) as Record<string, CborValue>;
    const listed = Array.isArray(config.providers) ? config.providers : [];
    return { ...p, config: { ...config, providers: [...listed, provider] } };
  });
  return { ...distribution, plugins };
}

/** Registers the workload's agreement: every listed intent permitted, nothing else (so `reset` is denied). */
async function registerAgreement(node: Node, { consumer, provider }: Parties): Promise<void> {
  const doc = newAgreement('business', {
    id: AGREEMENT_ID,
    consumer: consumer.kid,
    provider: provider.kid,
    // The template's export globs would permit `reset` too: only the listed intents are allowed.
    set: { 'permissions.intents': JSON.stringify(REFERENCE_WORKLOAD.permitted), 'permissions.exports': '[]' },
  });
  await node.roles.agreements.register({ document: signAgreement(signAgreement(doc, consumer, 'consumer'), provider, 'provider') });
}

/**
 * Runs the reference workload once on `distribution`.
 * @example
 * const a = await runPhase(distribution, { durationS: 60, coreFactor: 1.8, modules, trust, progress: console.error })
 */
export async function runPhase(distribution: LoadedDistribution, o: PhaseOptions): Promise<PhaseResult> {
  const w = REFERENCE_WORKLOAD;
  const temp = o.store === undefined ? mkdtempSync(join(tmpdir(), 'mcp0-budgets-')) : undefined;
  const store = o.store ?? `lmdb:${temp}`;
  let node: Node | undefined;
  try {
    const parties: Parties = { consumer: generateKeyPair(), provider: generateKeyPair() };
    const modules = signedByConsumer(o.modules, o.trust, parties.consumer);
    node = await Node.start({ distribution: acceptingProvider(distribution, parties.provider.kid), store, trust: [parties.consumer.publicKey] });
    const withAgreement = node.hasRole('agreements');
    if (withAgreement) await registerAgreement(node, parties);
    const agents: Record<Kind, Agent[]> = { memory: [], counter: [] };
    for (const kind of w.agents) {
      for (let k = 0; k < kind.count; k++) {
        agents[kind.module].push(
          await node.agents.spawn({ module: modules[kind.module], name: `${kind.module}-${k + 1}`, ...(withAgreement ? { agreement: AGREEMENT_ID } : {}) }),
        );
      }
    }
    const names = new Map([...agents.memory, ...agents.counter].map((a) => [a.id, a.name]));
    const count = Math.max(1, Math.round(o.durationS * w.opsPerSecond));
    const run = async (i: number) => {
      const op = planOperation(i);
      if (o.skipDenied && op.intent === w.denied.intent) return null;
      const list = agents[op.module];
      return list[op.instance % list.length]!.execute(op.intent, op.input);
    };
    // Warm-up, neither sampled nor metered: the first seconds compile code in every thread, which
    // is start-up, not the steady load the budgets are about (and would weigh heavily in --quick).
    await paced(Math.round(w.warmupS * w.opsPerSecond), w.opsPerSecond, run);
    const before = node.metrics().modules;
    const sampler = UsageSampler.start({ hz: w.hz, coreFactor: o.coreFactor });
    const results = await paced(count, w.opsPerSecond, run, (i) => {
      if (i > 0 && i % (w.opsPerSecond * 10) === 0) o.progress(`  ${i / w.opsPerSecond} s: ${i} operations started`);
    });
    const usage = sampler.stop();
    const after = node.metrics().modules;
    let denials = 0;
    const failures: unknown[] = [];
    for (const r of results) {
      if (r.status === 'rejected') r.reason instanceof DeniedError ? denials++ : failures.push(r.reason);
    }
    if (failures.length > 0)
      o.progress(
        `  ${failures.length} operations failed, e.g. ${failures
          .slice(0, 3)
          .map((e) => (e instanceof Error ? e.message : String(e)))
          .join(' | ')}`,
      );
    return {
      usage,
      samples: sampler.samples,
      metering: meteringDelta(before, after, (n) => (names.has(n) ? `agent:${names.get(n)}` : n)),
      agreements: node.kernel
        .modules()
        .filter((m) => m.manifest.provides?.includes(ROLE_NAMES.agreements))
        .map((m) => m.name),
      agents: names.size,
      operations: count,
      errors: failures.length,
      denials,
    };
  } finally {
    await node?.stop().catch(() => undefined);
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}
