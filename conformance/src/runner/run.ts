/**
 * Which suites run against what: a plugin gets the ABI suite and the role suites its manifest's
 * `provides` selects; a distribution gets its own verification, then the same for every plugin in
 * it, and with `budgets` the reference workload against the hardware gates. The verdict is pass
 * when no case failed and every gate held.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { readManifest, type PublicKey } from '@mcp0/abi';
import { loadDistribution, type LoadedDistribution } from '@mcp0/sdk';
import { runBudgets } from '../budgets/index.js';
import type { BudgetReport, ConformanceReport } from '../report/types.js';
import { REPORT_FORMAT } from '../report/types.js';
import { LOAD_CHECKS, abiSuite } from '../suites/abi/index.js';
import { suitesFor } from '../suites/roles/index.js';
import { notRun, runSuite, skipSuite, type CaseResult, type RunOptions } from './case.js';
import type { PluginSubject } from './subject.js';

/** What to run the suites against. */
export type ConformanceTarget = { kind: 'plugin'; file: string; trust: PublicKey[] } | { kind: 'distribution'; dir: string; trust: PublicKey[] };

/** How to run them. */
export interface ConformanceOptions extends RunOptions {
  /** Run the reference workload (distributions only), with these signed agents. */
  budgets?: {
    agents: { name: string; bytes: Uint8Array }[];
    trust: PublicKey[];
    coreFactor?: number;
    durationS?: number;
    /** The store the workload's node runs on (a URI: `mongodb://host/db`, `lmdb:<dir>`); it must hold no agents. Default: a temporary LMDB directory. */
    store?: string;
  };
  onProgress?: (text: string) => void;
}

/** The suites for one plugin; the role suites are not run for a module that does not load. */
async function pluginResults(subject: PluginSubject, options: ConformanceOptions): Promise<CaseResult[]> {
  const results = await runSuite(abiSuite, subject, options);
  const unloadable = results.find((r) => r.status === 'fail' && LOAD_CHECKS.includes(r.case));
  for (const suite of suitesFor(subject.manifest)) {
    results.push(...(unloadable ? skipSuite(suite, subject, notRun(`abi: ${unloadable.case}`), options) : await runSuite(suite, subject, options)));
  }
  return results;
}

function subjectOf(bytes: Uint8Array, trust: PublicKey[], file: string): PluginSubject {
  const manifest = readManifest(bytes);
  return { name: manifest.name, version: manifest.version, manifest, bytes, trust, file };
}

/**
 * Runs the conformance suites and returns the report.
 * @example
 * const report = await runConformance({ kind: 'plugin', file: 'build/greeter.wasm', trust: [me] }, { quick: true })
 * process.exitCode = report.verdict === 'pass' ? 0 : 1
 */
export async function runConformance(target: ConformanceTarget, options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const started = new Date();
  const t0 = performance.now();
  const results: CaseResult[] = [];
  let name: string;
  let version: string;
  let budgets: BudgetReport | undefined;
  if (target.kind === 'plugin') {
    const bytes = new Uint8Array(await readFile(target.file));
    const subject = subjectOf(bytes, target.trust, target.file);
    name = subject.name;
    version = subject.version;
    results.push(...(await pluginResults(subject, options)));
  } else {
    let dist: LoadedDistribution | undefined;
    const t = performance.now();
    try {
      dist = await loadDistribution(target.dir, { trust: target.trust });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const failed: CaseResult = {
        subject: basename(resolve(target.dir)),
        suite: 'distribution',
        case: 'verifies (signature, lock, plugins, pipeline)',
        status: 'fail',
        ms: Math.round(performance.now() - t),
        message,
      };
      results.push(failed);
      options.onResult?.(failed);
    }
    name = dist?.name ?? basename(resolve(target.dir));
    version = dist?.version ?? '';
    if (dist) {
      const ok: CaseResult = {
        subject: dist.name,
        suite: 'distribution',
        case: 'verifies (signature, lock, plugins, pipeline)',
        status: 'pass',
        ms: Math.round(performance.now() - t),
      };
      results.push(ok);
      options.onResult?.(ok);
      for (const p of dist.plugins) results.push(...(await pluginResults(subjectOf(p.bytes, dist.publishers, `${target.dir}/${p.name}`), options)));
      if (options.budgets) {
        options.onProgress?.('budgets: running the reference workload');
        budgets = await runBudgets(dist, {
          ...options.budgets,
          ...(options.quick ? { quick: true } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        });
      }
    }
  }
  const count = (s: CaseResult['status']) => results.filter((r) => r.status === s).length;
  const summary = { pass: count('pass'), fail: count('fail'), skip: count('skip') };
  const gatesHeld = !budgets || Object.values(budgets.gates).every((g) => g.pass);
  return {
    format: REPORT_FORMAT,
    target: { kind: target.kind, path: target.kind === 'plugin' ? target.file : target.dir, name, version },
    started: started.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    quick: options.quick === true,
    verdict: summary.fail === 0 && gatesHeld ? 'pass' : 'fail',
    summary,
    results,
    ...(budgets ? { budgets } : {}),
  };
}
