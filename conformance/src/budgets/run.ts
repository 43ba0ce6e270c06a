/**
 * The budgets run: the reference workload on a distribution, with the process's CPU (all threads)
 * and RSS sampled at 10 Hz, checked against the gates, beside the seed's per-component budgets and
 * the kernel's per-module metering. It starts an SDK Node on a temporary LMDB store (deleted after),
 * registers a signed agreement when the distribution provides agreements, spawns the agents under
 * it, then drives the paced workload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeniedError, UsageError, generateKeyPair, newAgreement, signAgreement,
  type CborValue, type PublicKey,
} from '@mcp0/abi';
import { Node, REFERENCE_CORE_FACTOR, UsageSampler, checkBudgets, type Agent, type LoadedDistribution, type UsageSample } from '@mcp0/sdk';
import type { BudgetReport, BudgetSample } from '../report/types.js';
import { componentShares } from './components.js';
import { paced } from './pace.js';
import { REFERENCE_WORKLOAD, planOperation } from './workload.js';

/** `runBudgets` options. */
export interface BudgetOptions {
  /** Run for `REFERENCE_WORKLOAD.quickDurationS` instead of `durationS`. */
  quick?: boolean;
  /** Overrides the duration, in seconds. */
  durationS?: number;
  /** The reference core's slowness against one core here (default REFERENCE_CORE_FACTOR). */
  coreFactor?: number;
  /** Signed agent modules by workload name: `memory` (agents/memory) and `counter` (agents/counter). */
  agents: { name: string; bytes: Uint8Array }[];
  /** The agents' publisher keys. */
  trust: PublicKey[];
  /** A store URI; default a temporary LMDB directory, deleted after the run. */
  store?: string;
  onProgress?: (text: string) => void;
}

type Metering = BudgetReport['metering'][string];
const AGREEMENT_ID = 'mcp0.conformance.budgets';

function durationOf(options: BudgetOptions): number {
  const d = options.durationS ?? (options.quick ? REFERENCE_WORKLOAD.quickDurationS : REFERENCE_WORKLOAD.durationS);
  if (!(Number.isFinite(d) && d > 0 && d <= 24 * 3600)) throw new UsageError('EUSAGE', `durationS: expected seconds in (0, 86400], got ${d}`, { got: d });
  return d;
}

function modulesOf(options: BudgetOptions): Record<'memory' | 'counter', Uint8Array> {
  const out: Partial<Record<'memory' | 'counter', Uint8Array>> = {};
  for (const kind of ['memory', 'counter'] as const) {
    const found = options.agents.find((a) => a.name === kind);
    if (!found) throw new UsageError('EUSAGE', `the reference workload needs a signed agent module named ${JSON.stringify(kind)} (agents/${kind}); got ${JSON.stringify(options.agents.map((a) => a.name))}`, { expected: ['memory', 'counter'], got: options.agents.map((a) => a.name) });
    out[kind] = found.bytes;
  }
  return out as Record<'memory' | 'counter', Uint8Array>;
}

/** The samples as a chart wants them: seconds, and CPU % of one core in each interval. */
function toSamples(raw: readonly UsageSample[]): BudgetSample[] {
  return raw.map((s, i) => {
    const dtMs = i === 0 ? 0 : s.t - raw[i - 1]!.t;
    return { t: s.t / 1000, cpuPercent: dtMs > 0 ? Math.round((s.cpuUs / 1000 / dtMs) * 100 * 100) / 100 : 0, rssMB: Math.round((s.rss / 1048576) * 100) / 100 };
  });
}

/** The per-module metering accumulated between two snapshots of `kernel.metrics()`. */
function meteringDelta(
  before: ReturnType<Node['metrics']>['modules'], after: ReturnType<Node['metrics']>['modules'], label: (name: string) => string,
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

/**
 * Runs the reference workload on `distribution` and measures it against the budgets.
 * @example
 * const budgets = await runBudgets(await loadDistribution('dist/standard/build'), { quick: true, agents, trust: [developer.publicKey] })
 * budgets.gates.cpu.pass // CPU on the reference core < 27%
 */
export async function runBudgets(distribution: LoadedDistribution, options: BudgetOptions): Promise<BudgetReport> {
  const durationS = durationOf(options);
  const coreFactor = options.coreFactor ?? REFERENCE_CORE_FACTOR;
  if (!(Number.isFinite(coreFactor) && coreFactor > 0)) throw new UsageError('EUSAGE', `coreFactor: expected a positive number, got ${coreFactor}`, { got: coreFactor });
  const modules = modulesOf(options);
  const progress = options.onProgress ?? (() => undefined);
  const w = REFERENCE_WORKLOAD;

  const temp = options.store === undefined ? mkdtempSync(join(tmpdir(), 'mcp0-budgets-')) : undefined;
  const store = options.store ?? `lmdb:${temp}`;
  let node: Node | undefined;
  try {
    progress(`starting ${distribution.name}@${distribution.version} on ${store}`);
    node = await Node.start({ distribution, store, trust: options.trust });
    const withAgreement = node.hasRole('agreements');
    if (withAgreement) {
      const consumer = generateKeyPair();
      const provider = generateKeyPair();
      const doc = newAgreement('business', {
        id: AGREEMENT_ID, consumer: consumer.kid, provider: provider.kid,
        // The template's export globs would permit `reset` too: only the listed intents are allowed.
        set: { 'permissions.intents': JSON.stringify(w.permitted), 'permissions.exports': '[]' },
      });
      await node.callRole('agreements', 'register', { document: signAgreement(signAgreement(doc, consumer, 'consumer'), provider, 'provider') as unknown as CborValue });
    }
    const agents: Record<'memory' | 'counter', Agent[]> = { memory: [], counter: [] };
    for (const kind of w.agents) {
      for (let k = 0; k < kind.count; k++) {
        agents[kind.module].push(await node.agents.spawn({ module: modules[kind.module], name: `${kind.module}-${k + 1}`, ...(withAgreement ? { agreement: AGREEMENT_ID } : {}) }));
      }
    }
    const agentCount = agents.memory.length + agents.counter.length;
    const names = new Map([...agents.memory, ...agents.counter].map((a) => [a.id, a.name]));
    const label = (name: string) => (names.has(name) ? `agent:${names.get(name)}` : name);

    const count = Math.max(1, Math.round(durationS * w.opsPerSecond));
    progress(`running the reference workload: ${agentCount} agents, ${w.opsPerSecond} ops/s, ${w.payloadBytes} B payloads, ${durationS} s`);
    const before = node.metrics().modules;
    const sampler = UsageSampler.start({ hz: w.hz, coreFactor });
    let denials = 0;
    let errors = 0;
    const firstErrors: string[] = [];
    const results = await paced(count, w.opsPerSecond, (i) => {
      const op = planOperation(i);
      const list = agents[op.module];
      return list[op.instance % list.length]!.execute(op.intent, op.input);
    }, (i) => {
      if (i > 0 && i % (w.opsPerSecond * 10) === 0) progress(`  ${i / w.opsPerSecond} s: ${i} operations started`);
    });
    const usage = sampler.stop();
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (r.reason instanceof DeniedError) denials++;
      else {
        errors++;
        if (firstErrors.length < 3) firstErrors.push(String((r.reason as Error)?.message ?? r.reason));
      }
    }
    if (firstErrors.length > 0) progress(`  ${errors} operations failed, e.g. ${firstErrors.join(' | ')}`);
    const after = node.metrics().modules;

    const metering = meteringDelta(before, after, label);
    const agreementsNames = node.kernel.modules().filter((m) => m.manifest.provides?.includes('mcp0.agreements@1')).map((m) => m.name);
    const wallOf = (names: string[]) => names.reduce((a, n) => a + (metering[n]?.wallUsTotal ?? 0), 0);
    const durationUs = usage.durationMs * 1000;
    const samples = toSamples(sampler.samples);
    return {
      workload: { agents: agentCount, opsPerSecond: w.opsPerSecond, payloadBytes: w.payloadBytes, durationS: Math.round(usage.durationMs / 100) / 10, operations: count, errors, denials },
      usage: {
        cpuPercent: usage.cpuPercent, cpuPercentReference: usage.cpuPercentReference, coreFactor, rssPeakMB: usage.rssPeakMB, rssAvgMB: usage.rssAvgMB,
        samples: usage.samples, hz: Math.round(((usage.samples - 1) / (usage.durationMs / 1000)) * 10) / 10,
      },
      gates: checkBudgets(usage, distribution.budgets),
      components: componentShares({
        durationUs, coreFactor, cpuPercentReference: usage.cpuPercentReference,
        agreementsWallUs: agreementsNames.length > 0 ? wallOf(agreementsNames) : null,
      }),
      metering,
      samples,
    };
  } finally {
    await node?.stop().catch(() => undefined);
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}
