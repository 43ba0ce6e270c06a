/**
 * `npm run fuzz`: the command line of the fuzz campaign (scripts/fuzz.mjs calls `main`). Progress
 * goes to stderr, the summary to stdout, the full report to `--json`. Exit code: 0 with no host
 * crash, 1 when the campaign found one, 2 on a usage error.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Mcp0Error, UsageError } from '@mcp0/abi';
import type { Tier } from '@mcp0/kernel';
import { repositoryRoot } from './artifacts.js';
import { runCampaign, type CampaignOptions } from './campaign.js';
import type { GeneratorName } from './generate.js';
import { formatSummary } from './report.js';
import { findWasmTools, WASM_TOOLS_VERSION } from './smith.js';

const HELP = `usage: npm run fuzz -- [options]

Fuzzes the kernel with generated modules in a child process and reports host crashes.

  --seconds N        generate modules for N seconds (default 60 when --modules is not given)
  --modules N        stop after N modules
  --seed N           the first module's seed; module i has seed N+i (default: random, printed)
  --tiers LIST       inline,worker (default both)
  --generators LIST  smith,mutate (default both; smith needs wasm-tools ${WASM_TOOLS_VERSION}:
                     $WASM_TOOLS, else ~/.cache/mcp0/wasm-tools-${WASM_TOOLS_VERSION}/bin/wasm-tools)
  --inputs N         hostile inputs per export and tier (default 3)
  --rss-calls N      calls of the RSS run after the campaign (default 10000; 0 skips it)
  --timeout-ms N     each module's timeoutMs (default 100)
  --memory-pages N   each module's memoryPages (default 32)
  --slack-ms N       how far past its timeout an operation may run before it is a host crash (default 10000)
  --max-rss-mb N     RSS over which the target process counts as holding unbounded memory (default 3072)
  --crashes DIR      where crashing modules are saved (default <repository>/fuzz-crashes)
  --replay FILE...   run saved crash modules (fuzz-crashes/<class>/seed-<n>.wasm) instead of generating
  --json FILE        write the full report as JSON
  --help

Reference artifacts come from the repository's build (npm run build): distributions/standard/build/plugins,
plugins/*/build and agents/*/build; the hello plugin is the known-good module.`;

function positiveInt(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError('EUSAGE', `--${name}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function list<T extends string>(value: string | undefined, name: string, allowed: readonly T[], fallback: T[]): T[] {
  if (value === undefined) return fallback;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.find((s) => !(allowed as readonly string[]).includes(s));
  if (bad !== undefined || items.length === 0)
    throw new UsageError('EUSAGE', `--${name}: expected a comma-separated list of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return [...new Set(items)] as T[];
}

/**
 * Parse the arguments into campaign options.
 * @example
 * const { options } = parseFuzzArgs(['--modules', '10', '--seed', '7'])
 */
export function parseFuzzArgs(
  argv: string[],
  progress: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): { options?: CampaignOptions; json?: string; help?: boolean } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      seconds: { type: 'string' },
      modules: { type: 'string' },
      seed: { type: 'string' },
      tiers: { type: 'string' },
      generators: { type: 'string' },
      inputs: { type: 'string' },
      'rss-calls': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'memory-pages': { type: 'string' },
      'slack-ms': { type: 'string' },
      'max-rss-mb': { type: 'string' },
      crashes: { type: 'string' },
      replay: { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length > 0 && !values.replay) throw new UsageError('EUSAGE', `unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  if (values.replay && positionals.length === 0) throw new UsageError('EUSAGE', '--replay: expected one or more saved .wasm files');
  const wasmTools = findWasmTools();
  const wanted = list<GeneratorName>(values.generators, 'generators', ['smith', 'mutate'], ['smith', 'mutate']);
  let generators = wanted;
  if (wanted.includes('smith') && !wasmTools && !values.replay) {
    if (values.generators !== undefined)
      throw new UsageError(
        'EUSAGE',
        `--generators smith: wasm-tools ${WASM_TOOLS_VERSION} not found (set WASM_TOOLS, or build it: cargo install --locked wasm-tools --version ${WASM_TOOLS_VERSION} --root ~/.cache/mcp0/wasm-tools-${WASM_TOOLS_VERSION})`,
      );
    progress(
      `fuzz: warning: wasm-tools ${WASM_TOOLS_VERSION} not found (WASM_TOOLS or ~/.cache/mcp0/wasm-tools-${WASM_TOOLS_VERSION}/bin/wasm-tools); only mutated reference artifacts are generated`,
    );
    generators = ['mutate'];
  }
  const modules = values.modules === undefined ? undefined : positiveInt(values.modules, 'modules', 0);
  const seconds = values.seconds === undefined ? (modules === undefined && !values.replay ? 60 : undefined) : positiveInt(values.seconds, 'seconds', 60);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 1e9) : positiveInt(values.seed, 'seed', 0, 0);
  const root = repositoryRoot();
  const options: CampaignOptions = {
    seed,
    ...(seconds === undefined ? {} : { seconds }),
    ...(modules === undefined ? {} : { modules }),
    tiers: list<Tier>(values.tiers, 'tiers', ['inline', 'worker'], ['inline', 'worker']),
    generators,
    ...(values.replay ? { replay: positionals.map((p) => resolve(p)) } : {}),
    inputsPerExport: positiveInt(values.inputs, 'inputs', 3),
    limits: { timeoutMs: positiveInt(values['timeout-ms'], 'timeout-ms', 100), memoryPages: positiveInt(values['memory-pages'], 'memory-pages', 32) },
    maxInputBytes: 4 << 20,
    slackMs: positiveInt(values['slack-ms'], 'slack-ms', 10_000),
    rssCalls: positiveInt(values['rss-calls'], 'rss-calls', 10_000, 0),
    rssSampleEvery: 500,
    root,
    crashDir: resolve(values.crashes ?? join(root, 'fuzz-crashes')),
    ...(wasmTools ? { wasmTools } : {}),
    target: { graceMs: 5_000, maxRssBytes: positiveInt(values['max-rss-mb'], 'max-rss-mb', 3072) * 2 ** 20, maxOldSpaceMb: 2048 },
    progress,
  };
  return { options, ...(values.json ? { json: resolve(values.json) } : {}) };
}

/**
 * Run the command; returns the exit code.
 * @example
 * process.exitCode = await main(process.argv.slice(2))
 */
export async function main(argv: string[]): Promise<number> {
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const { options, json, help } = parseFuzzArgs(argv, progress);
    if (help || !options) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    progress(
      options.replay
        ? `fuzz: replaying ${options.replay.length} saved modules, tiers ${options.tiers.join(',')}`
        : `fuzz: seed ${options.seed}, tiers ${options.tiers.join(',')}, generators ${options.generators.join(',')}${options.seconds ? `, ${options.seconds} s` : ''}${options.modules ? `, ${options.modules} modules` : ''}`,
    );
    const report = await runCampaign(options);
    process.stdout.write(formatSummary(report));
    if (json) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    return report.crashes.total === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof Mcp0Error && e.code === 'EUSAGE') {
      process.stderr.write(`fuzz: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`fuzz: ${e.message} (see --help)\n`);
      return 2;
    }
    throw e;
  }
}
