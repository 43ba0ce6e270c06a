/**
 * Verifying a distribution directory. Every check runs and every failure is collected, each a
 * typed error naming what is wrong, so `mcp0 dist verify` can list them all:
 * schema → the assembler's signature (trusted key, valid, document unchanged since signing, with
 * each change named) → per plugin: file present and equal to its locked sha256, signed by a listed
 * publisher, manifest name and version equal to the entry, ABI compatible, grants well formed and
 * covering the required capabilities → the pipeline names plugins that declare the hook.
 */
import {
  ABI_VERSION,
  LoadError,
  Mcp0Error,
  UsageError,
  checkAbi,
  parseJson,
  readManifest,
  verifyModule,
  type ErrorCode,
  type Grant,
  type Manifest,
  type PublicKey,
} from '@mcp0/abi';
import { effectiveCapabilities } from '@mcp0/kernel';
import { diffDistributions } from './diff.js';
import { canonicalDistribution, readDistribution, unsignedPart, validateDistribution } from './document.js';
import { readArtifact, sha256Hex } from './files.js';
import { parseGrants } from './grants.js';
import { entryKey } from './keys.js';
import { verifySignature } from './sign.js';
import type { DistributionDocument, PluginEntry } from './types.js';

/**
 * One failed check.
 * @example
 * for (const { code, check, plugin, message } of report.problems) console.error(code, check, plugin ?? '-', message)
 */
export interface DistributionProblem {
  code: ErrorCode;
  /** schema, signature, trust, changed, file, sha256, publisher, manifest, abi, grants, capabilities, pipeline. */
  check: string;
  plugin?: string;
  message: string;
}

/**
 * A plugin that passed its own checks.
 * @example
 * const { plugins } = await verifyDistribution(dir, { trust: [assemblerKey] })
 * plugins.map((p) => `${p.manifest.name}@${p.manifest.version} signed by ${p.signers.join(', ')}`)
 */
export interface CheckedPlugin {
  entry: PluginEntry;
  bytes: Uint8Array;
  manifest: Manifest;
  grants: Grant[];
  /** Key ids of the publishers whose signatures verify. */
  signers: string[];
}

/**
 * Everything verify found. `ok` when `problems` is empty.
 * @example
 * const r: DistributionReport = await checkDistribution('distributions/standard/build', { trust: [assemblerKey] })
 * if (!r.ok) console.error(r.problems.map((p) => p.message).join('\n'))
 */
export interface DistributionReport {
  dir: string;
  ok: boolean;
  problems: DistributionProblem[];
  document?: DistributionDocument;
  /** The trusted assembler key that signed it, when the signature verified. */
  assembler?: string;
  plugins: CheckedPlugin[];
}

/**
 * How the assembler is trusted.
 * @example
 * await checkDistribution(dir, { trust: [assemblerKey] })
 * await checkDistribution('distributions/standard/build', { trustEmbeddedDevKey: true }) // development builds only
 */
export interface TrustOptions {
  /** Trusted assembler public keys. */
  trust?: readonly PublicKey[];
  /**
   * Also accept the document's own `assembler` key. That only proves the document was not changed
   * by someone without that key's private half sitting next to it: for development builds (the
   * dev key of distributions/standard), never for a distribution that came from elsewhere.
   */
  trustEmbeddedDevKey?: boolean;
}

function problemOf(e: unknown, fallback: { check: string; plugin?: string }): DistributionProblem {
  if (e instanceof Mcp0Error) {
    const check = typeof e.details.check === 'string' ? e.details.check : fallback.check;
    const prefix = fallback.plugin !== undefined && !e.message.startsWith(`plugin ${fallback.plugin}`) ? `plugin ${fallback.plugin}: ` : '';
    return { code: e.code, check, ...(fallback.plugin !== undefined ? { plugin: fallback.plugin } : {}), message: `${prefix}${e.message}` };
  }
  throw e;
}

/** Run `fn`; a typed error becomes a problem, anything else (a bug) propagates. */
function attempt<T>(problems: DistributionProblem[], where: { check: string; plugin?: string }, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    addProblem(problems, problemOf(e, where));
    return undefined;
  }
}

/** Adds a problem unless the same one is listed (bytes that are not WebAssembly fail the signature and the manifest check alike). */
function addProblem(problems: DistributionProblem[], p: DistributionProblem): void {
  if (!problems.some((q) => q.code === p.code && q.check === p.check && q.plugin === p.plugin && q.message === p.message)) problems.push(p);
}

async function checkPlugin(dir: string, entry: PluginEntry, publishers: PublicKey[], problems: DistributionProblem[]): Promise<CheckedPlugin | undefined> {
  const where = { check: 'file', plugin: entry.name };
  let bytes: Uint8Array;
  try {
    bytes = await readArtifact(dir, entry.name, entry.file);
  } catch (e) {
    problems.push(problemOf(e, where));
    return undefined;
  }
  const before = problems.length;
  const actual = sha256Hex(bytes);
  if (actual !== entry.sha256) {
    problems.push({
      code: 'ESIGNATURE',
      check: 'sha256',
      plugin: entry.name,
      message: `plugin ${entry.name}: sha256 mismatch (locked ${entry.sha256.slice(0, 12)}…, file ${actual.slice(0, 12)}…): ${entry.file} was swapped or edited after lock`,
    });
  }
  const signers = attempt(problems, { check: 'publisher', plugin: entry.name }, () => {
    try {
      return verifyModule(bytes, publishers).signers;
    } catch (e) {
      if (e instanceof LoadError && e.code === 'EUNTRUSTED') {
        throw new LoadError('EUNTRUSTED', `signed by no trusted publisher of this distribution: ${e.message}`, { check: 'publisher' }, { cause: e });
      }
      throw e;
    }
  });
  const manifest = attempt(problems, { check: 'manifest', plugin: entry.name }, () => readManifest(bytes));
  if (manifest && (manifest.name !== entry.name || manifest.version !== entry.version)) {
    problems.push({
      code: 'EMANIFEST',
      check: 'manifest',
      plugin: entry.name,
      message: `plugin ${entry.name}: the entry says ${entry.name}@${entry.version}, the file's manifest says ${manifest.name}@${manifest.version}`,
    });
  }
  if (manifest) attempt(problems, { check: 'abi', plugin: entry.name }, () => checkAbi(manifest));
  const grants = attempt(problems, { check: 'grants', plugin: entry.name }, () => parseGrants(entry.name, entry.grants));
  if (manifest && grants) attempt(problems, { check: 'capabilities', plugin: entry.name }, () => effectiveCapabilities(manifest, grants));
  if (problems.length > before || !manifest || !grants || !signers) return undefined;
  return { entry, bytes, manifest, grants, signers };
}

/** Pipeline entries must be plugins of the distribution that declare the hook. */
function checkPipeline(doc: DistributionDocument, manifests: Map<string, Manifest | undefined>, problems: DistributionProblem[]): void {
  for (const hook of ['admit', 'observe'] as const) {
    for (const name of doc.pipeline[hook]) {
      if (!manifests.has(name)) {
        problems.push({
          code: 'EINPUT',
          check: 'pipeline',
          plugin: name,
          message: `pipeline ${hook} names ${name}, which is not a plugin of this distribution (plugins: ${[...manifests.keys()].join(', ') || 'none'})`,
        });
        continue;
      }
      const manifest = manifests.get(name);
      if (manifest && !(manifest.hooks ?? []).includes(hook)) {
        problems.push({
          code: 'EINPUT',
          check: 'pipeline',
          plugin: name,
          message: `pipeline ${hook} names ${name}, whose manifest does not declare the ${hook} hook (its hooks: ${(manifest.hooks ?? []).join(', ') || 'none'})`,
        });
      }
    }
  }
}

/**
 * Every check of a distribution except the assembler's signature: the document-level rules and
 * each plugin's. `lock` runs this before it signs; verify runs it after the signature.
 * @example
 * const { problems } = await checkContents('distributions/standard/build', doc)
 */
export async function checkContents(dir: string, doc: DistributionDocument): Promise<{ problems: DistributionProblem[]; plugins: CheckedPlugin[] }> {
  const problems: DistributionProblem[] = [];
  attempt(problems, { check: 'schema' }, () => validateDistribution(doc));
  attempt(problems, { check: 'abi' }, () => checkAbi({ name: `distribution ${doc.name}`, abi: doc.abi }, ABI_VERSION));
  attempt(problems, { check: 'publisher' }, () => entryKey(doc.assembler, 'assembler'));
  const publishers = doc.publishers.flatMap((k) => attempt(problems, { check: 'publisher' }, () => [entryKey(k, 'publisher')]) ?? []);
  const plugins: CheckedPlugin[] = [];
  const manifests = new Map<string, Manifest | undefined>();
  for (const entry of doc.plugins) {
    const checked = await checkPlugin(dir, entry, publishers, problems);
    if (checked) plugins.push(checked);
    // A plugin that failed still has a manifest worth checking the pipeline against, when readable.
    manifests.set(entry.name, checked?.manifest ?? (await manifestIfReadable(dir, entry)));
  }
  checkPipeline(doc, manifests, problems);
  return { problems, plugins };
}

async function manifestIfReadable(dir: string, entry: PluginEntry): Promise<Manifest | undefined> {
  try {
    return readManifest(await readArtifact(dir, entry.name, entry.file));
  } catch {
    return undefined;
  }
}

/** The trusted assembler keys for `options`, or EUSAGE when there are none. */
function assemblerTrust(doc: DistributionDocument, options: TrustOptions): PublicKey[] {
  const trust = [...(options.trust ?? [])];
  if (options.trustEmbeddedDevKey) trust.push(entryKey(doc.assembler, 'assembler'));
  return trust;
}

/** The signature checks: trusted, valid, and the document unchanged since (each change a problem). */
function checkSignature(doc: DistributionDocument, trust: PublicKey[], problems: DistributionProblem[]): string | undefined {
  const signer = attempt(problems, { check: 'signature' }, () => verifySignature(doc, trust));
  if (!signer) return undefined;
  const sig = doc.signature!;
  if (sig.kid !== doc.assembler.kid) {
    problems.push({ code: 'ESIGNATURE', check: 'signature', message: `signed by ${sig.kid}, but the document names assembler ${doc.assembler.kid}` });
  }
  if (canonicalDistribution(doc) === sig.signed) return signer.kid;
  let changes: string[];
  try {
    changes = diffDistributions(unsignedPart(validateDistribution(parseJson(sig.signed))), unsignedPart(doc));
  } catch {
    changes = ['the signed copy cannot be read back, so the changes cannot be named'];
  }
  for (const change of changes.length > 0 ? changes : ['the document differs from the signed copy']) {
    problems.push({ code: 'ESIGNATURE', check: 'changed', message: `changed since signed: ${change}` });
  }
  return undefined;
}

/**
 * Run every check on the distribution in `dir` and report; never throws for a failed check (only
 * for a caller's mistake: no trusted assembler key at all is `EUSAGE`).
 * @example
 * const report = await checkDistribution('distributions/standard/build', { trust: [devKey] })
 * for (const p of report.problems) console.error(p.message)
 */
export async function checkDistribution(dir: string, options: TrustOptions = {}): Promise<DistributionReport> {
  if ((options.trust ?? []).length === 0 && !options.trustEmbeddedDevKey) {
    throw new UsageError(
      'EUSAGE',
      "verifying a distribution needs a trusted assembler key: pass trust (the assembler's public key), or trustEmbeddedDevKey for a development build",
    );
  }
  const problems: DistributionProblem[] = [];
  let doc: DistributionDocument;
  try {
    doc = await readDistribution(dir);
  } catch (e) {
    problems.push(problemOf(e, { check: 'schema' }));
    return { dir, ok: false, problems, plugins: [] };
  }
  const trust = attempt(problems, { check: 'trust' }, () => assemblerTrust(doc, options)) ?? [];
  const assembler = checkSignature(doc, trust, problems);
  const contents = await checkContents(dir, doc);
  problems.push(...contents.problems);
  return { dir, ok: problems.length === 0, problems, document: doc, ...(assembler ? { assembler } : {}), plugins: contents.plugins };
}

/**
 * One typed error for a failed report: the code of the first problem, every problem in the message
 * (and in `details.problems`).
 * @example
 * if (!report.ok) throw distributionError(report)
 */
export function distributionError(report: DistributionReport): LoadError {
  const first = report.problems[0]!;
  const more = report.problems.length > 1 ? ` (${report.problems.length} problems)` : '';
  return new LoadError(first.code, `distribution ${report.dir} failed verification${more}: ${report.problems.map((p) => p.message).join('; ')}`, {
    check: first.check,
    problems: report.problems,
  });
}

/**
 * Verify the distribution in `dir`, throwing a `LoadError` that names every problem.
 * @example
 * const { document, plugins } = await verifyDistribution(dir, { trust: [assemblerKey] })
 */
export async function verifyDistribution(dir: string, options: TrustOptions = {}): Promise<DistributionReport & { document: DistributionDocument }> {
  const report = await checkDistribution(dir, options);
  if (!report.ok || !report.document) throw distributionError(report);
  return report as DistributionReport & { document: DistributionDocument };
}
