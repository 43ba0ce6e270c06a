/**
 * The budgets run: the reference workload on a distribution, with the process's CPU (all threads)
 * and RSS sampled at 10 Hz or more, checked against the gates, beside the seed's per-component
 * budgets and the kernel's per-module metering. When the distribution provides agreements, a
 * second, shorter phase runs the same workload without the agreements plugin: the difference in
 * CPU is what agreements cost, which metered wall time (it counts waiting) cannot say.
 */
import { UsageError, type PublicKey } from '@mcp0/abi';
import { REFERENCE_CORE_FACTOR, checkBudgets, type LoadedDistribution, type UsageSample } from '@mcp0/sdk';
import type { BudgetReport, BudgetSample } from '../report/types.js';
import { componentShares } from './components.js';
import { inChildProcess } from './isolate.js';
import { runPhase } from './phase.js';
import { cpuPerSecond, standardError } from './stats.js';
import { REFERENCE_WORKLOAD } from './workload.js';

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
  /**
   * An empty store for the main phase (default: a temporary LMDB directory, deleted after). The
   * phase without agreements uses it too when it is `memory:`, else a temporary LMDB directory.
   */
  store?: string;
  onProgress?: (text: string) => void;
  /**
   * Run in a fresh child process (default true), so the figures are the node's and the workload's
   * alone, not the caller's heap too. `false` runs in this process.
   */
  isolate?: boolean;
}

function durationOf(options: BudgetOptions): number {
  const d = options.durationS ?? (options.quick ? REFERENCE_WORKLOAD.quickDurationS : REFERENCE_WORKLOAD.durationS);
  if (!(Number.isFinite(d) && d > 0 && d <= 24 * 3600)) throw new UsageError('EUSAGE', `durationS: expected seconds in (0, 86400], got ${d}`, { got: d });
  return d;
}

function modulesOf(options: BudgetOptions): Record<'memory' | 'counter', Uint8Array> {
  const find = (kind: 'memory' | 'counter') => {
    const found = options.agents.find((a) => a.name === kind);
    if (!found)
      throw new UsageError(
        'EUSAGE',
        `the reference workload needs a signed agent module named ${JSON.stringify(kind)} (agents/${kind}); got ${JSON.stringify(options.agents.map((a) => a.name))}`,
        { expected: ['memory', 'counter'], got: options.agents.map((a) => a.name) },
      );
    return found.bytes;
  };
  return { memory: find('memory'), counter: find('counter') };
}

/** The samples as a chart wants them: seconds, and CPU % of one core in each interval. */
function toSamples(raw: readonly UsageSample[]): BudgetSample[] {
  return raw.map((s, i) => {
    const dtMs = i === 0 ? 0 : s.t - raw[i - 1]!.t;
    return {
      t: s.t / 1000,
      cpuPercent: dtMs > 0 ? Math.round((s.cpuUs / 1000 / dtMs) * 100 * 100) / 100 : 0,
      rssMB: Math.round((s.rss / 1048576) * 100) / 100,
    };
  });
}

/** The distribution without the named plugins, in its plugin list and its pipeline. */
function without(distribution: LoadedDistribution, names: string[]): LoadedDistribution {
  const keep = (n: string) => !names.includes(n);
  return {
    ...distribution,
    plugins: distribution.plugins.filter((p) => keep(p.name)),
    pipeline: { admit: distribution.pipeline.admit.filter(keep), observe: distribution.pipeline.observe.filter(keep) },
  };
}

/**
 * Runs the reference workload on `distribution` and measures it against the budgets, in a child
 * process unless `isolate: false`.
 * @example
 * const budgets = await runBudgets(await loadDistribution('distributions/standard/build'), { quick: true, agents, trust: [developer.publicKey] })
 * budgets.gates.cpu.pass // CPU on the reference core < 27%
 */
export async function runBudgets(distribution: LoadedDistribution, options: BudgetOptions): Promise<BudgetReport> {
  const durationS = durationOf(options);
  const coreFactor = options.coreFactor ?? REFERENCE_CORE_FACTOR;
  if (!(Number.isFinite(coreFactor) && coreFactor > 0))
    throw new UsageError('EUSAGE', `coreFactor: expected a positive number, got ${coreFactor}`, { got: coreFactor });
  const modules = modulesOf(options);
  const progress = options.onProgress ?? (() => undefined);
  if (options.isolate !== false) {
    const { onProgress: _, isolate: __, ...rest } = options;
    return inChildProcess(distribution, rest, progress);
  }
  const w = REFERENCE_WORKLOAD;
  const common = { coreFactor, modules, trust: options.trust, progress };

  progress(
    `budgets: ${distribution.name}@${distribution.version}, the reference workload (${w.agents.reduce((a, k) => a + k.count, 0)} agents, ${w.opsPerSecond} ops/s, ${w.payloadBytes} B payloads) for ${durationS} s`,
  );
  const main = await runPhase(distribution, { ...common, durationS, ...(options.store === undefined ? {} : { store: options.store }) });
  let agreements: Parameters<typeof componentShares>[0]['agreements'] = null;
  if (main.agreements.length > 0) {
    // Half as long is enough for a rate; never shorter than the quick run unless the run itself is.
    const withoutS = Math.min(durationS, Math.max(w.quickDurationS, durationS / 2));
    progress(`budgets: the same workload for ${withoutS} s without ${main.agreements.join(', ')}, to measure what agreements cost`);
    const bare = await runPhase(without(distribution, main.agreements), {
      ...common,
      durationS: withoutS,
      skipDenied: true,
      ...(options.store?.startsWith('memory:') ? { store: options.store } : {}),
    });
    const se = Math.hypot(standardError(cpuPerSecond(main.samples)), standardError(cpuPerSecond(bare.samples)));
    const wallUs = main.agreements.reduce((a, n) => a + (main.metering[n]?.wallUsTotal ?? 0), 0);
    agreements = {
      withPercent: main.usage.cpuPercent,
      withoutPercent: bare.usage.cpuPercent,
      withoutDurationS: Math.round(bare.usage.durationMs / 100) / 10,
      noisePercent: 2 * se,
      wallPercent: (wallUs / 1000 / main.usage.durationMs) * 100,
    };
  }
  const u = main.usage;
  return {
    workload: {
      agents: main.agents,
      opsPerSecond: w.opsPerSecond,
      payloadBytes: w.payloadBytes,
      durationS: Math.round(u.durationMs / 100) / 10,
      operations: main.operations,
      errors: main.errors,
      denials: main.denials,
    },
    usage: {
      cpuPercent: u.cpuPercent,
      cpuPercentReference: u.cpuPercentReference,
      coreFactor,
      rssPeakMB: u.rssPeakMB,
      rssAvgMB: u.rssAvgMB,
      samples: u.samples,
      hz: Math.round(((u.samples - 1) / (u.durationMs / 1000)) * 10) / 10,
    },
    gates: checkBudgets(u, distribution.budgets),
    components: componentShares({ coreFactor, cpuPercentReference: u.cpuPercentReference, agreements }),
    metering: main.metering,
    samples: toSamples(main.samples),
  };
}
