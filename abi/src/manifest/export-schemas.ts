/**
 * JSON Schemas on exports (ABI 1.3, ABI.md §2 "Schemas on exports"): the rules a schema in a
 * signed manifest must keep, its compilation with ajv (draft 2020-12, strict), and the check of a
 * CBOR value against it through the value's JSON view. A manifest is hostile until checked, and so
 * are its schemas: a schema decides how much work every call costs the host, so only schemas whose
 * checking is bounded, local and deterministic are accepted.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import canonicalize from 'canonicalize';
import { RE2JS } from 're2js';
import semver from 'semver';
import { LoadError, describe as describeValue } from '../errors/index.js';
import type { Manifest } from './types.js';

/** The only dialect a schema may name in `$schema` (and the one it is read in when it names none). */
export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** The first ABI version whose hosts check schemas: a manifest with schemas must not allow an older one. */
export const SCHEMAS_SINCE = '1.3.0';

/** Largest schema, as RFC 8785 canonical JSON bytes (the manifest itself is at most 64 KiB). */
export const MAX_SCHEMA_BYTES = 16 * 1024;

/** Deepest nesting of objects and arrays in a schema document. */
export const MAX_SCHEMA_DEPTH = 32;

/** Which value of an export a schema describes. */
export type SchemaSide = 'input' | 'output';

/** Why a value does not fit a schema: where (an RFC 6901 JSON Pointer), what the schema wants, what came. */
export interface SchemaViolation {
  pointer: string;
  expected: string;
  got: string;
}

/** One compiled schema of an export. */
export interface SchemaCheck {
  /** The schema as the manifest gives it (deep-frozen): plain JSON for callers to publish. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Undefined when `value`'s JSON view fits the schema; else the first violation found. */
  check(value: unknown): SchemaViolation | undefined;
}

/** The compiled schemas of one export; a side without a schema is absent. */
export type ExportSchemaChecks = Readonly<Partial<Record<SchemaSide, SchemaCheck>>>;

/** Members that would make a schema reach outside itself, or resolve names dynamically. */
const REFUSED_MEMBERS: Record<string, string> = {
  $id: 'a schema in a manifest is one anonymous document: $id is not allowed',
  $dynamicRef: '$dynamicRef is not allowed (use $ref to a local #... target)',
  $dynamicAnchor: '$dynamicAnchor is not allowed',
  $recursiveRef: '$recursiveRef is not part of draft 2020-12',
  $recursiveAnchor: '$recursiveAnchor is not part of draft 2020-12',
};

/** Members whose values are data, not schemas: what they hold is never read as a keyword. */
const DATA_MEMBERS = new Set(['const', 'enum', 'default', 'examples']);

/**
 * Patterns run in RE2 (re2js): linear time in the string, whatever the pattern, so no schema can
 * make a call's check backtrack for ever (V8's RegExp can: `^(a+)+$`). RE2 takes the ECMA-262
 * syntax JSON Schema uses, less lookaround and backreferences, which fail to compile.
 */
function re2(pattern: string): { test(text: string): boolean; toString(): string } {
  const compiled = RE2JS.compile(pattern);
  // ajv caches compiled patterns under toString(): it must differ per pattern.
  return { test: (text) => compiled.matcher(text).find(), toString: () => `re2:${pattern}` };
}
re2.code = 're2js';

/**
 * `uniqueItems` by canonical form: one RFC 8785 string per item in a set, linear in the array's
 * size. ajv's own compares every pair of items that are not all scalars, which over a 4 MiB array
 * of small arrays is trillions of comparisons. JSON Schema equality is JSON equality, which
 * canonical JSON gives (1 and 1.0 are one number; member order does not count).
 */
function uniqueItems(unique: boolean, data: unknown): boolean {
  if (!unique || !Array.isArray(data)) return true;
  const seen = new Set<string>();
  for (const item of data) {
    const key = canonicalize(item) ?? '';
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

/** A fresh ajv for one manifest's schemas: strict, first error only, no $data, formats as annotations. */
function makeAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    // type: ["string", "null"] is common in tool schemas and is checked exactly.
    allowUnionTypes: true,
    // The first error only: a 4 MiB array of wrong items would otherwise build millions of errors.
    allErrors: false,
    verbose: true,
    $data: false,
    // Draft 2020-12's default: format is an annotation. Checking formats would tie a module's
    // promise to one validator library's version of "email" or "uri".
    validateFormats: false,
    code: { regExp: re2 },
  });
  const unique = (schema: boolean, data: unknown): boolean => {
    const ok = uniqueItems(schema, data);
    unique.errors = ok ? [] : [{ keyword: 'uniqueItems', message: 'must NOT have duplicate items', params: {} }];
    return ok;
  };
  unique.errors = [] as Partial<ErrorObject>[];
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', validate: unique, errors: true });
  return ajv;
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
const token = (t: string | number) => String(t).replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The first rule of ABI.md §2 a schema breaks, as text; undefined when it keeps them all. Walks
 * with an explicit stack, so a hostile document cannot exhaust the loader's.
 */
function schemaProblem(schema: unknown): string | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return 'expected a JSON Schema object';
  const text = canonicalize(schema) ?? '';
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_SCHEMA_BYTES) return `it is ${bytes} bytes of canonical JSON, the limit is ${MAX_SCHEMA_BYTES}`;
  const stack: { value: unknown; path: string; depth: number; data: boolean }[] = [{ value: schema, path: '', depth: 1, data: false }];
  while (stack.length > 0) {
    const { value, path, depth, data } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_SCHEMA_DEPTH) return `it nests deeper than ${MAX_SCHEMA_DEPTH} levels (at ${path || '/'})`;
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: `${path}/${i}`, depth: depth + 1, data }));
      continue;
    }
    for (const [key, member] of Object.entries(value)) {
      const at = `${path}/${token(key)}`;
      // In data (const, enum, ...) a member named $ref is a value, not a reference.
      if (!data && typeof member === 'string') {
        if (key === '$ref' && !member.startsWith('#')) return `$ref ${JSON.stringify(member)} at ${at} is not local: only "#..." references are allowed`;
        if (Object.hasOwn(REFUSED_MEMBERS, key)) return `${REFUSED_MEMBERS[key]} (at ${at})`;
        if (key === '$schema' && (path !== '' || member !== SCHEMA_DIALECT))
          return `$schema at ${at}: expected ${JSON.stringify(SCHEMA_DIALECT)} at the root only, got ${JSON.stringify(member)}`;
      }
      stack.push({ value: member, path: at, depth: depth + 1, data: data || DATA_MEMBERS.has(key) });
    }
  }
  return undefined;
}

/** ajv's error as a violation: where, what the schema wants, what came. */
function violation(e: ErrorObject): SchemaViolation {
  const expected = e.keyword === 'type' ? `${String((e.params as { type: unknown }).type)} (type)` : `${e.message ?? 'to be valid'} (${e.keyword})`;
  return { pointer: e.instancePath || '', expected, got: describeValue(e.data) };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Where `value` leaves the JSON view (ABI.md §2): a byte string, or an integer past ±(2^53 − 1),
 * which CBOR decoding gives as a bigint. The value came from the CBOR decoder, so it is at most
 * 64 levels deep.
 */
function outsideJsonView(value: unknown, pointer = ''): SchemaViolation | undefined {
  if (value instanceof Uint8Array) return { pointer, expected: 'a value with a JSON view (bytes have none)', got: describeValue(value) };
  if (typeof value === 'bigint') {
    const got = value > MAX_SAFE || value < -MAX_SAFE ? 'an integer beyond ±(2^53 − 1)' : `bigint ${value}`;
    return { pointer, expected: 'a value with a JSON view (integers within ±(2^53 − 1))', got };
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { pointer, expected: 'a finite number', got: String(value) };
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = outsideJsonView(value[i], `${pointer}/${i}`);
      if (bad) return bad;
    }
    return undefined;
  }
  for (const [key, member] of Object.entries(value)) {
    const bad = outsideJsonView(member, `${pointer}/${token(key)}`);
    if (bad) return bad;
  }
  return undefined;
}

/** Freeze a JSON value and everything in it: the compiled check and what callers publish must agree. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

function compileOne(ajv: Ajv2020, exportName: string, side: SchemaSide, schema: unknown): SchemaCheck {
  const refuse = (problem: string, cause?: unknown) =>
    new LoadError(
      'EMANIFEST',
      `invalid manifest: export "${exportName}": its ${side} schema is refused: ${problem}`,
      { check: 'manifest', export: exportName, side, problem },
      cause === undefined ? undefined : { cause },
    );
  const problem = schemaProblem(schema);
  if (problem !== undefined) throw refuse(problem);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema as object);
  } catch (e) {
    // Strict mode (unknown keywords, type-less keywords), unresolvable #refs, patterns RE2 cannot
    // run, and $ref cycles (ajv overflows its stack resolving them) all land here.
    throw refuse(`it does not compile with ajv (draft 2020-12, strict): ${(e as Error).message}`, e);
  }
  // A $ref cycle through allOf, anyOf, not, if ... never descends into the value, so checking
  // anything recurses until the stack ends; a few probes find the usual ones at load, and the
  // check below still catches any the probes miss.
  for (const probe of [null, 0, '', [], {}]) {
    try {
      validate(probe);
    } catch (e) {
      throw refuse(`checking ${JSON.stringify(probe)} against it does not end (${(e as Error).message}): a $ref cycle that never descends into the value`, e);
    }
  }
  return {
    schema: deepFreeze(schema as Record<string, unknown>),
    check(value: unknown): SchemaViolation | undefined {
      const outside = outsideJsonView(value);
      if (outside) return outside;
      let ok: boolean;
      try {
        ok = validate(value) as boolean;
      } catch (e) {
        // A $ref cycle that never descends into the value recurses until the stack ends. The
        // schema is the module's, so this is the value not fitting, deterministically.
        return { pointer: '', expected: 'a schema whose check ends', got: `an error from the check (${(e as Error).message})` };
      }
      return ok ? undefined : violation(validate.errors![0]!);
    },
  };
}

/**
 * Throws `EMANIFEST` when a manifest that carries schemas allows a host older than ABI 1.3, which
 * would load the module and never check them. A range that is not semver is left to `checkAbi`.
 */
function checkSchemaAbi(manifest: Manifest): void {
  if (semver.validRange(manifest.abi) === null) return;
  const lowest = semver.minVersion(manifest.abi);
  if (lowest !== null && semver.lt(lowest, SCHEMAS_SINCE)) {
    const first = manifest.exports.find((e) => e.input !== undefined || e.output !== undefined)!;
    throw new LoadError(
      'EMANIFEST',
      `invalid manifest: export "${first.name}" has JSON Schemas, which need "abi": "^1.3"; the manifest says ${JSON.stringify(manifest.abi)}, which allows ${lowest.version}`,
      { check: 'manifest', export: first.name, expected: `a range with no version below ${SCHEMAS_SINCE}`, got: manifest.abi },
    );
  }
}

const compiledSchemas = new WeakMap<Manifest, ReadonlyMap<string, ExportSchemaChecks>>();

/**
 * The compiled schemas of a manifest's exports, by export name (exports without schemas are
 * absent). Compiled once per manifest object and kept with it, so `readManifest`'s check and the
 * kernel's per-call checks share one compilation. Throws `EMANIFEST` naming the export, the side
 * and the rule for a schema that breaks ABI.md §2, or for schemas under an `abi` range that allows
 * a host older than 1.3.
 * @example
 * const checks = exportSchemas(readManifest(bytes)).get('add')
 * const problem = checks?.input?.check({ n: 'one' }) // { pointer: '/n', expected: 'integer (type)', got: '"one"' }
 */
export function exportSchemas(manifest: Manifest): ReadonlyMap<string, ExportSchemaChecks> {
  const cached = compiledSchemas.get(manifest);
  if (cached !== undefined) return cached;
  const withSchemas = manifest.exports.filter((e) => e.input !== undefined || e.output !== undefined);
  const map = new Map<string, ExportSchemaChecks>();
  if (withSchemas.length > 0) {
    checkSchemaAbi(manifest);
    // One ajv per manifest: schemas have no $id, so nothing of one module's can reach another's.
    const ajv = makeAjv();
    for (const e of withSchemas) {
      const checks: Partial<Record<SchemaSide, SchemaCheck>> = {};
      if (e.input !== undefined) checks.input = compileOne(ajv, e.name, 'input', e.input);
      if (e.output !== undefined) checks.output = compileOne(ajv, e.name, 'output', e.output);
      map.set(e.name, Object.freeze(checks));
    }
  }
  compiledSchemas.set(manifest, map);
  return map;
}
