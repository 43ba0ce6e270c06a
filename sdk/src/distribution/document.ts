/**
 * Reading, validating and writing `distribution.json`, and its canonical bytes: RFC 8785 JSON of
 * the document without `signature`, which is what the assembler signs.
 */
import { createRequire } from 'node:module';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { JsonError, LoadError, compileOnFirstUse, describe, parseJson } from '@mcp0/abi';
import { DISTRIBUTION_FILE, type DistributionDocument } from './types.js';

const require = createRequire(import.meta.url);
/**
 * The distribution JSON Schema, as shipped in `abi/schema/`.
 * @example
 * new Ajv({ strict: true }).compile(distributionSchema)
 */
export const distributionSchema: object = require('@mcp0/abi/schema/distribution.schema.json');

const distributionValidator = compileOnFirstUse<DistributionDocument>(distributionSchema);

/**
 * The largest `distribution.json` read: a lockfile is kilobytes (the signed copy doubles it).
 * @example
 * if (size > MAX_DOCUMENT_BYTES) refuse()
 */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

/**
 * Check a parsed document against the schema and the rules a schema cannot say (unique plugin
 * names). Throws `EINPUT` (check 'schema') listing every problem.
 * @example
 * const doc = validateDistribution(JSON.parse(text))
 */
export function validateDistribution(value: unknown): DistributionDocument {
  const validate = distributionValidator();
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map(
      (e) =>
        `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`,
    );
    throw new LoadError('EINPUT', `distribution.json does not match the schema: ${problems.join('; ')}`, { check: 'schema', problems });
  }
  const names = value.plugins.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new LoadError('EINPUT', `distribution.json lists plugin ${dup} twice`, { check: 'schema', plugin: dup });
  const files = value.plugins.map((p) => p.file);
  const dupFile = files.find((f, i) => files.indexOf(f) !== i);
  if (dupFile !== undefined) throw new LoadError('EINPUT', `distribution.json uses file ${dupFile} for two plugins`, { check: 'schema', file: dupFile });
  const kids = value.publishers.map((k) => k.kid);
  const dupKid = kids.find((k, i) => kids.indexOf(k) !== i);
  if (dupKid !== undefined) throw new LoadError('EINPUT', `distribution.json lists publisher ${dupKid} twice`, { check: 'schema', kid: dupKid });
  return value;
}

/**
 * Parse `distribution.json` text: strict JSON (a member named twice in one object is refused, with
 * `details.key` and `details.path`), then the schema. Throws `EINPUT`.
 * @example
 * const doc = parseDistribution(await readFile('distributions/standard/build/distribution.json', 'utf8'))
 */
export function parseDistribution(text: string): DistributionDocument {
  let value: unknown;
  try {
    // Strict: a member named twice would let a reader (or `mcp0 dist verify`'s diff) see one
    // document while the lock and the node act on another.
    value = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    if (e.details.reason === 'duplicate') {
      const { key, path, offset } = e.details;
      throw new LoadError('EINPUT', `distribution.json: ${e.message}`, { check: 'schema', key, path, offset }, { cause: e });
    }
    const cause = e.cause as Error;
    throw new LoadError('EINPUT', `distribution.json is not JSON: ${cause.message}`, { check: 'schema' }, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LoadError('EINPUT', `distribution.json: expected a JSON object, got ${describe(value)}`, { check: 'schema' });
  }
  return validateDistribution(value);
}

/**
 * Read and validate `<dir>/distribution.json`. A missing file is `ENOTFOUND`, anything malformed `EINPUT`.
 * @example
 * const doc = await readDistribution('distributions/standard/build')
 */
export async function readDistribution(dir: string): Promise<DistributionDocument> {
  const path = join(dir, DISTRIBUTION_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new LoadError('ENOTFOUND', `no distribution in ${dir}: cannot read ${DISTRIBUTION_FILE} (${code})`, { check: 'schema', path }, { cause: e });
  }
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    throw new LoadError('ETOOBIG', `${path} is ${bytes.length} bytes, the limit is ${MAX_DOCUMENT_BYTES}`, { check: 'schema', path });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new LoadError('EINPUT', `${path} is not UTF-8`, { check: 'schema', path }, { cause: e });
  }
  return parseDistribution(text);
}

/**
 * Write `<dir>/distribution.json` (validated, pretty, final newline), through a temporary file and
 * a rename so a crash never leaves half a lockfile.
 * @example
 * await writeDistribution(dir, { ...doc, version: '1.0.1' })
 */
export async function writeDistribution(dir: string, doc: DistributionDocument): Promise<void> {
  validateDistribution(doc);
  const path = join(dir, DISTRIBUTION_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(doc, null, 2)}\n`);
  await rename(temp, path);
}

/**
 * The document without its signature: what is signed and what two versions are compared on.
 * @example
 * unsignedPart(doc).signature // undefined
 */
export function unsignedPart(doc: DistributionDocument): Omit<DistributionDocument, 'signature'> {
  const { signature: _signature, ...rest } = doc;
  return rest;
}

/**
 * RFC 8785 canonical JSON of the document without `signature`: the text the assembler signs.
 * @example
 * const text = canonicalDistribution(doc) // '{"abi":"^1.0","assembler":{…},…}'
 */
export function canonicalDistribution(doc: DistributionDocument): string {
  const text = canonicalize(unsignedPart(doc));
  if (text === undefined) throw new LoadError('EINPUT', 'distribution.json cannot be canonicalised', { check: 'schema' });
  return text;
}
