/**
 * The source spec of a distribution (`<spec-dir>/dist.json`): what `mcp0 dist build` assembles.
 * Plugins are named by their source directories (relative to the spec), not by artifacts, so a
 * committed spec rebuilds from the repository. Parsed strictly: every problem names the field. A
 * config may say `"$assembler"` for the key the build signs with (`resolveConfig`).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Mcp0Error, UsageError, describe, parseJson } from '@mcp0/abi';

/**
 * The spec file's name inside a spec directory.
 * @example
 * join('distributions/standard', SPEC_FILE) // 'distributions/standard/dist.json'
 */
export const SPEC_FILE = 'dist.json';

/** One plugin to build. */
export interface SpecPlugin {
  /** The plugin's source directory (holding plugin.json), absolute once parsed. */
  source: string;
  grants: string[];
  isolation?: 'inline' | 'worker';
  config?: Record<string, unknown>;
  preempt?: boolean;
}

/** A parsed spec. */
export interface DistSpec {
  name: string;
  version: string;
  description?: string;
  plugins: SpecPlugin[];
  pipeline: { admit: string[]; observe: string[] };
  budgets?: { cpuPercent: number; rssPeakMB: number; rssAvgMB: number };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function only(where: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new UsageError('EUSAGE', `${where}: unknown field ${extra.join(', ')} (expected ${allowed.join(', ')})`);
}

function parsePlugin(file: string, dir: string, value: unknown, i: number): SpecPlugin {
  const where = `${file}: plugins[${i}]`;
  if (!isObject(value)) throw new UsageError('EUSAGE', `${where}: expected an object, got ${describe(value)}`);
  only(where, value, ['source', 'grants', 'isolation', 'config', 'preempt']);
  const { source, grants, isolation, config, preempt } = value;
  if (typeof source !== 'string' || source.length === 0)
    throw new UsageError('EUSAGE', `${where}.source: expected the plugin's source directory, got ${describe(source)}`);
  if (!isStrings(grants)) throw new UsageError('EUSAGE', `${where}.grants: expected an array of grant texts, got ${describe(grants)}`);
  if (isolation !== undefined && isolation !== 'inline' && isolation !== 'worker')
    throw new UsageError('EUSAGE', `${where}.isolation: expected inline or worker, got ${describe(isolation)}`);
  if (config !== undefined && !isObject(config)) throw new UsageError('EUSAGE', `${where}.config: expected an object, got ${describe(config)}`);
  if (preempt !== undefined && typeof preempt !== 'boolean') throw new UsageError('EUSAGE', `${where}.preempt: expected a boolean, got ${describe(preempt)}`);
  return {
    source: resolve(dir, source),
    grants,
    ...(isolation ? { isolation } : {}),
    ...(config ? { config } : {}),
    ...(preempt !== undefined ? { preempt } : {}),
  };
}

/**
 * The config placeholder `mcp0 dist build` replaces with the assembler key's id: a string that is
 * exactly this, anywhere in a plugin's config. A committed spec cannot name the key a build will
 * be signed with (a development build makes its own), yet a plugin may need it, as mcp0.agreements
 * needs the provider keys its operator accepts: `"config": {"providers": ["$assembler"]}`.
 * @example
 * resolveConfig({ providers: [ASSEMBLER_PLACEHOLDER] }, { assembler: key.kid }) // { providers: [key.kid] }
 */
export const ASSEMBLER_PLACEHOLDER = '$assembler';

/**
 * A copy of a plugin's config with every string that is exactly `$assembler`, at any depth in
 * arrays and objects, replaced by the assembler key's id; everything else is kept as it is.
 * @example
 * resolveConfig({ providers: ['$assembler'], note: 'a $assembler in text stays' }, { assembler: 'kPrK…' })
 */
export function resolveConfig<T>(value: T, keys: { assembler: string }): T {
  if (value === ASSEMBLER_PLACEHOLDER) return keys.assembler as T;
  if (Array.isArray(value)) return value.map((v: unknown) => resolveConfig(v, keys)) as T;
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveConfig(v, keys)])) as T;
  return value;
}

/**
 * Read and check `<dir>/dist.json`.
 * @example
 * const spec = await readSpec('distributions/standard')
 */
export async function readSpec(dir: string): Promise<DistSpec> {
  const file = join(dir, SPEC_FILE);
  let value: unknown;
  try {
    // Strict: a spec naming a member twice could show a reader one grant and build with another.
    value = parseJson(await readFile(file, 'utf8'));
  } catch (e) {
    throw new UsageError(
      'EUSAGE',
      `cannot read the distribution spec ${file}: ${e instanceof Mcp0Error ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message)}`,
      { file },
      { cause: e },
    );
  }
  if (!isObject(value)) throw new UsageError('EUSAGE', `${file}: expected a JSON object, got ${describe(value)}`);
  only(file, value, ['name', 'version', 'description', 'plugins', 'pipeline', 'budgets']);
  const { name, version, description, plugins, pipeline, budgets } = value;
  if (typeof name !== 'string' || typeof version !== 'string') throw new UsageError('EUSAGE', `${file}: expected name and version strings`);
  if (description !== undefined && typeof description !== 'string') throw new UsageError('EUSAGE', `${file}: description: expected a string`);
  if (!Array.isArray(plugins) || plugins.length === 0) throw new UsageError('EUSAGE', `${file}: plugins: expected a non-empty array, got ${describe(plugins)}`);
  if (!isObject(pipeline) || !isStrings(pipeline.admit ?? []) || !isStrings(pipeline.observe ?? []))
    throw new UsageError('EUSAGE', `${file}: pipeline: expected {admit: [names], observe: [names]}`);
  only(`${file}: pipeline`, pipeline, ['admit', 'observe']);
  if (budgets !== undefined) {
    const ok = isObject(budgets) && ['cpuPercent', 'rssPeakMB', 'rssAvgMB'].every((k) => typeof budgets[k] === 'number');
    if (!ok) throw new UsageError('EUSAGE', `${file}: budgets: expected {cpuPercent, rssPeakMB, rssAvgMB} numbers`);
  }
  return {
    name,
    version,
    ...(description !== undefined ? { description } : {}),
    plugins: plugins.map((p, i) => parsePlugin(file, dir, p, i)),
    pipeline: { admit: (pipeline.admit as string[] | undefined) ?? [], observe: (pipeline.observe as string[] | undefined) ?? [] },
    ...(budgets !== undefined ? { budgets: budgets as DistSpec['budgets'] } : {}),
  };
}
