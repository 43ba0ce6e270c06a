/**
 * Manifest validation (ajv against the JSON Schema), canonical encoding (RFC 8785) and the
 * `mcp0.manifest` custom section: writing it into a module and reading it back.
 */
import { createRequire } from 'node:module';
import canonicalize from 'canonicalize';
import { LoadError, Mcp0Error } from '../errors/index.js';
import { MANIFEST_SECTION } from '../abi-v1.js';
import { compileOnFirstUse, JsonError, parseJson } from '../json/index.js';
import { appendCustomSection, customSections, removeCustomSections } from '../wasm/sections.js';
import { exportSchemas } from './export-schemas.js';
import type { Manifest } from './types.js';

const require = createRequire(import.meta.url);
/** The manifest JSON Schema, as shipped in `abi/schema/`. */
export const manifestSchema: object = require('../../schema/manifest.schema.json');

const manifestValidator = compileOnFirstUse<Manifest>(manifestSchema);

/** Largest manifest section accepted, so a hostile module cannot make the loader parse megabytes of JSON. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/**
 * Validate a manifest object; throws `EMANIFEST` listing every schema violation, or naming the
 * export whose JSON Schema breaks the rules of ABI.md §2 (`exportSchemas`).
 * @example
 * const m = validateManifest(JSON.parse(readFileSync('plugin.json', 'utf8')))
 */
export function validateManifest(value: unknown): Manifest {
  const validate = manifestValidator();
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new LoadError('EMANIFEST', `invalid manifest: ${problems.join('; ')}`, { check: 'manifest', problems });
  }
  const names = value.exports.map((e) => e.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new LoadError('EMANIFEST', `invalid manifest: export "${dup}" is listed twice`, { check: 'manifest' });
  const caps = (value.capabilities ?? []).map((c) => c.name);
  const dupCap = caps.find((n, i) => caps.indexOf(n) !== i);
  if (dupCap !== undefined) throw new LoadError('EMANIFEST', `invalid manifest: capability "${dupCap}" is requested twice`, { check: 'manifest' });
  // ABI 1.3: the exports' schemas are compiled now, so a bad one fails the build and the load,
  // never a call; the compilation stays with the manifest for the kernel's checks.
  exportSchemas(value);
  return value;
}

/**
 * RFC 8785 canonical JSON bytes of a (validated) manifest.
 * @example
 * canonicalManifest({ version: '1.0.0', name: 'acme.x', ... }) // keys sorted, no whitespace
 */
export function canonicalManifest(manifest: Manifest): Uint8Array {
  const text = canonicalize(validateManifest(manifest));
  if (text === undefined) throw new Mcp0Error('EMANIFEST', 'manifest cannot be canonicalised');
  return new TextEncoder().encode(text);
}

/**
 * Put a manifest into a module as the `mcp0.manifest` section, replacing any earlier one. Do this
 * after asc and wasm-opt, which drop custom sections, and before signing.
 * @example
 * const artifact = appendManifest(compiledWasm, JSON.parse(readFileSync('plugin.json', 'utf8')))
 */
export function appendManifest(module: Uint8Array, manifest: unknown): Uint8Array {
  const payload = canonicalManifest(validateManifest(manifest));
  return appendCustomSection(removeCustomSections(module, MANIFEST_SECTION), MANIFEST_SECTION, payload);
}

/**
 * Read and validate the manifest section of a module. Throws `EMANIFEST` when it is missing,
 * repeated, too large, not UTF-8 JSON, names a member twice (`details.key`, `details.path`), not
 * canonical, or fails the schema.
 */
export function readManifest(module: Uint8Array): Manifest {
  const found = customSections(module, MANIFEST_SECTION);
  if (found.length !== 1) {
    throw new LoadError('EMANIFEST', `expected exactly one "${MANIFEST_SECTION}" section, found ${found.length}`, { check: 'manifest', found: found.length });
  }
  const payload = found[0]!;
  if (payload.length > MAX_MANIFEST_BYTES) {
    throw new LoadError('EMANIFEST', `manifest section is ${payload.length} bytes, the limit is ${MAX_MANIFEST_BYTES}`, { check: 'manifest' });
  }
  let value: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
    value = parseJson(text);
  } catch (e) {
    if (e instanceof JsonError && e.details.reason === 'duplicate') {
      // A member named twice is never canonical either; naming it says what is wrong.
      const { key, path, offset } = e.details;
      throw new LoadError('EMANIFEST', `invalid manifest: ${e.message}`, { check: 'manifest', key, path, offset }, { cause: e });
    }
    const cause = e instanceof JsonError ? e.cause : e;
    throw new LoadError('EMANIFEST', `manifest section is not UTF-8 JSON: ${(cause as Error).message}`, { check: 'manifest' }, { cause });
  }
  const manifest = validateManifest(value);
  if (canonicalize(value) !== text) {
    throw new LoadError('EMANIFEST', 'manifest section is not in RFC 8785 canonical form', { check: 'manifest' });
  }
  return manifest;
}
