/**
 * Editing a distribution directory: create it, add or replace a plugin (its artifact is copied into
 * `plugins/`), remove one, change grants, set the pipeline order. Edits keep the old signature, so
 * until the next lock, verify names what changed since; each edit checks what it touches and
 * refuses (writing nothing) rather than leave a document that can never be locked.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ABI_VERSION, LoadError, UsageError, readManifest, type PublicKey } from '@mcp0/abi';
import { readDistribution, writeDistribution } from './document.js';
import { sha256Hex } from './files.js';
import { formatGrant, parseGrants } from './grants.js';
import { keyEntry } from './keys.js';
import { DEFAULT_BUDGETS, DISTRIBUTION_FILE, PLUGINS_DIR, type DistributionDocument, type Isolation, type PluginEntry, type PipelineOrder } from './types.js';
import { checkContents, distributionError } from './verify.js';

/**
 * What a new distribution is made of.
 * @example
 * const spec: NewDistribution = { name: 'acme.edge', version: '1.0.0', assembler: key.publicKey }
 * await createDistribution('my-dist', spec)
 */
export interface NewDistribution {
  name: string;
  version?: string;
  /** The public key that will sign it (`lock` must then be given its private half). */
  assembler: PublicKey;
}

/**
 * Create an empty distribution in `dir` (made if needed). Refuses a directory that already holds one.
 * @example
 * await createDistribution('my-dist', { name: 'acme.edge', assembler: key.publicKey })
 */
export async function createDistribution(dir: string, spec: NewDistribution): Promise<DistributionDocument> {
  if (existsSync(join(dir, DISTRIBUTION_FILE))) throw new UsageError('EUSAGE', `${join(dir, DISTRIBUTION_FILE)} already exists`);
  const doc: DistributionDocument = {
    name: spec.name,
    version: spec.version ?? '0.1.0',
    abi: `^${ABI_VERSION.split('.').slice(0, 2).join('.')}`,
    assembler: keyEntry(spec.assembler),
    publishers: [],
    plugins: [],
    pipeline: { admit: [], observe: [] },
    budgets: { ...DEFAULT_BUDGETS },
  };
  await mkdir(dir, { recursive: true });
  await writeDistribution(dir, doc);
  return doc;
}

/**
 * How a plugin is added.
 * @example
 * await addPlugin('my-dist', bytes, { grants: ['kv:trace/'], isolation: 'worker', publishers: [publisher.publicKey] })
 */
export interface AddOptions {
  /** Grant texts (`kv:trace/`, `crypto`, ...). */
  grants?: readonly string[];
  isolation?: Isolation;
  config?: Record<string, unknown>;
  preempt?: boolean;
  /** Publisher keys to add to the distribution's trust list. */
  publishers?: readonly PublicKey[];
}

/** Problems of one plugin (and of the document-level checks), pipeline left aside. */
async function refuseIfBroken(dir: string, doc: DistributionDocument, plugin: string, what: string): Promise<void> {
  const { problems } = await checkContents(dir, doc);
  const relevant = problems.filter((p) => p.check !== 'pipeline' && (p.plugin === undefined || p.plugin === plugin));
  if (relevant.length > 0) {
    const err = distributionError({ dir, ok: false, problems: relevant, plugins: [] });
    throw new LoadError(err.code, `${what} refused: ${relevant.map((p) => p.message).join('; ')}`, err.details);
  }
}

/**
 * Add the signed artifact `bytes` to the distribution in `dir`, or replace the plugin of the same
 * name (keeping its place in the load order). The file is copied to `plugins/<name>.wasm`. Refused
 * when its signer is not among the publishers, its grants are malformed or miss a required
 * capability, or its manifest is unreadable.
 * @example
 * await addPlugin('my-dist', await readFile('trace.wasm'), { grants: ['kv:trace/'], publishers: [pub] })
 */
export async function addPlugin(dir: string, bytes: Uint8Array, options: AddOptions = {}): Promise<PluginEntry> {
  const doc = await readDistribution(dir);
  const manifest = readManifest(bytes);
  const grants = parseGrants(manifest.name, options.grants ?? []).map(formatGrant);
  const entry: PluginEntry = {
    name: manifest.name,
    version: manifest.version,
    file: `${PLUGINS_DIR}/${manifest.name}.wasm`,
    sha256: sha256Hex(bytes),
    grants,
    config: options.config ?? {},
    isolation: options.isolation ?? 'inline',
    ...(options.preempt !== undefined ? { preempt: options.preempt } : {}),
  };
  const publishers = [...doc.publishers];
  for (const key of options.publishers ?? []) if (!publishers.some((k) => k.kid === key.kid)) publishers.push(keyEntry(key));
  const index = doc.plugins.findIndex((p) => p.name === entry.name);
  const plugins = index < 0 ? [...doc.plugins, entry] : doc.plugins.map((p, i) => (i === index ? entry : p));
  const next: DistributionDocument = { ...doc, publishers, plugins };

  // Check the copy before it replaces anything: write it under a temporary name first.
  await mkdir(join(dir, PLUGINS_DIR), { recursive: true });
  const temp = `${PLUGINS_DIR}/.${manifest.name}.${process.pid}.tmp`;
  await writeFile(join(dir, temp), bytes);
  try {
    await refuseIfBroken(dir, { ...next, plugins: plugins.map((p) => (p === entry ? { ...entry, file: temp } : p)) }, entry.name, `adding ${entry.name}`);
    await writeFile(join(dir, entry.file), bytes);
  } finally {
    await rm(join(dir, temp), { force: true });
  }
  await writeDistribution(dir, next);
  return entry;
}

/**
 * Remove plugin `name`: its entry, its artifact, and its place in the pipeline. Returns the
 * pipeline hooks it was taken out of.
 * @example
 * await removePlugin('my-dist', 'mcp0.agreements') // ['admit']
 */
export async function removePlugin(dir: string, name: string): Promise<string[]> {
  const doc = await readDistribution(dir);
  const entry = doc.plugins.find((p) => p.name === name);
  if (!entry) throw new UsageError('EUSAGE', `no plugin ${name} in this distribution (plugins: ${doc.plugins.map((p) => p.name).join(', ') || 'none'})`);
  const hooks = (['admit', 'observe'] as const).filter((h) => doc.pipeline[h].includes(name));
  const pipeline = { admit: doc.pipeline.admit.filter((n) => n !== name), observe: doc.pipeline.observe.filter((n) => n !== name) };
  await writeDistribution(dir, { ...doc, plugins: doc.plugins.filter((p) => p !== entry), pipeline });
  // Another entry never shares the file (the schema check refuses that), so it is ours to delete.
  await rm(join(dir, entry.file), { force: true });
  return hooks;
}

/**
 * Change the grants of plugin `name`: `grant` adds (replacing an earlier grant of the same
 * capability, e.g. kv:a/ → kv:b/), `revoke` removes a grant by its text or by capability name.
 * Refused when the result is malformed or misses a required capability. Returns the new grants.
 * @example
 * await changeGrants('my-dist', 'mcp0.storage', { grant: ['net:*'], revoke: [] }) // ['blocks', 'net:*']
 */
export async function changeGrants(dir: string, name: string, change: { grant?: readonly string[]; revoke?: readonly string[] }): Promise<string[]> {
  const doc = await readDistribution(dir);
  const entry = doc.plugins.find((p) => p.name === name);
  if (!entry) throw new UsageError('EUSAGE', `no plugin ${name} in this distribution (plugins: ${doc.plugins.map((p) => p.name).join(', ') || 'none'})`);
  let grants = parseGrants(name, entry.grants).map(formatGrant);
  for (const text of change.revoke ?? []) {
    const kept = grants.filter((g) => g !== text && g.split(':')[0] !== text);
    if (kept.length === grants.length)
      throw new UsageError('EUSAGE', `plugin ${name}: nothing to revoke for ${JSON.stringify(text)} (grants: ${grants.join(', ') || 'none'})`);
    grants = kept;
  }
  for (const added of parseGrants(name, change.grant ?? [])) {
    const text = formatGrant(added);
    grants = [...grants.filter((g) => g.split(':')[0] !== added.name), text];
  }
  const next: DistributionDocument = { ...doc, plugins: doc.plugins.map((p) => (p === entry ? { ...entry, grants } : p)) };
  await refuseIfBroken(dir, next, name, `changing the grants of ${name}`);
  await writeDistribution(dir, next);
  return grants;
}

/**
 * Set the order of the admit and/or observe hooks. Each name must be a plugin of the distribution
 * that declares the hook.
 * @example
 * await setPipeline('my-dist', { admit: ['mcp0.agreements'], observe: ['mcp0.trace'] })
 */
export async function setPipeline(dir: string, order: Partial<PipelineOrder>): Promise<PipelineOrder> {
  const doc = await readDistribution(dir);
  const pipeline = { admit: order.admit ? [...order.admit] : doc.pipeline.admit, observe: order.observe ? [...order.observe] : doc.pipeline.observe };
  const next: DistributionDocument = { ...doc, pipeline };
  const { problems } = await checkContents(dir, next);
  const relevant = problems.filter((p) => p.check === 'pipeline' || p.check === 'schema');
  if (relevant.length > 0) throw distributionError({ dir, ok: false, problems: relevant, plugins: [] });
  await writeDistribution(dir, next);
  return pipeline;
}
