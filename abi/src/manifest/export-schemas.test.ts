// ABI 1.3's schemas on exports: which schemas a manifest may carry (known answers for each rule),
// and the check of a decoded CBOR value through its JSON view.
import { describe, expect, it } from 'vitest';
import { LoadError } from '../errors/index.js';
import { MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, SCHEMA_DIALECT, exportSchemas } from './export-schemas.js';
import { validateManifest } from './manifest.js';
import type { Manifest } from './types.js';

const manifest = (input: unknown, extra: Partial<Manifest> = {}): Manifest =>
  ({ name: 'test.schemas', version: '1.0.0', abi: '^1.3', kind: 'plugin', exports: [{ name: 'add', input }], ...extra }) as Manifest;

function refused(m: unknown): LoadError {
  try {
    validateManifest(m);
  } catch (e) {
    if (e instanceof LoadError) return e;
    throw e;
  }
  throw new Error('expected a LoadError');
}

const add = {
  type: 'object',
  properties: { by: { type: 'integer', minimum: 1 }, note: { type: ['string', 'null'], maxLength: 16 }, tags: { type: 'array', uniqueItems: true } },
  required: ['by'],
  additionalProperties: false,
};

describe('schemas a manifest may carry', () => {
  it('accepts a draft 2020-12 schema, with or without $schema, and keeps it as plain JSON', () => {
    const m = validateManifest(manifest(add));
    const checks = exportSchemas(m).get('add');
    expect(checks?.input?.schema).toEqual(add);
    expect(checks?.output).toBeUndefined();
    expect(Object.isFrozen(checks?.input?.schema)).toBe(true);
    expect(() => validateManifest(manifest({ $schema: SCHEMA_DIALECT, type: 'string', format: 'email' }))).not.toThrow();
    // Local references (JSON Pointers into the schema) are fine; so is a $ref that is only data in a const.
    expect(() =>
      validateManifest(
        manifest({ $defs: { n: { type: 'integer' } }, type: 'array', prefixItems: [{ $ref: '#/$defs/n' }, { $ref: '#' }], items: false, minItems: 2 }),
      ),
    ).not.toThrow();
    expect(() => validateManifest(manifest({ const: { $ref: 'https://example.com/x' } }))).not.toThrow();
  });

  it('compiles once per manifest object', () => {
    const m = validateManifest(manifest(add));
    expect(exportSchemas(m)).toBe(exportSchemas(m));
    expect(exportSchemas(validateManifest(manifest(undefined))).size).toBe(0);
  });

  it.each([
    [
      'a remote $ref',
      { $ref: 'https://example.com/schema.json' },
      '$ref "https://example.com/schema.json" at /$ref is not local: only "#..." references are allowed',
    ],
    ['a relative $ref', { type: 'object', properties: { a: { $ref: 'other.json#/x' } } }, '$ref "other.json#/x" at /properties/a/$ref is not local'],
    ['an $id', { $id: 'https://example.com/s', type: 'string' }, '$id is not allowed (at /$id)'],
    ['$dynamicRef', { $dynamicRef: '#meta' }, '$dynamicRef is not allowed'],
    ['another dialect', { $schema: 'http://json-schema.org/draft-07/schema#' }, 'expected "https://json-schema.org/draft/2020-12/schema" at the root only'],
    ['$schema below the root', { type: 'array', items: { $schema: SCHEMA_DIALECT } }, '$schema at /items/$schema'],
    ['an unknown keyword (strict)', { type: 'string', maxLenght: 3 }, 'strict mode: unknown keyword: "maxLenght"'],
    ['a keyword without its type (strict)', { properties: { a: {} } }, 'missing type "object" for keyword "properties"'],
    ['a wrong keyword value', { type: 'string', maxLength: -1 }, 'does not compile with ajv'],
    ['an unresolvable local $ref', { $ref: '#/$defs/missing' }, 'does not compile with ajv'],
    ['a lookahead RE2 cannot run', { type: 'string', pattern: '^(?=a)' }, 'invalid or unsupported Perl syntax'],
    ['a backreference', { type: 'string', pattern: '(a)\\1' }, 'does not compile with ajv'],
    ['a $ref cycle', { $defs: { a: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, 'does not compile with ajv'],
    ['a $ref cycle through allOf', { $defs: { a: { allOf: [{ $ref: '#/$defs/a' }] } }, $ref: '#/$defs/a' }, 'does not end'],
  ])('refuses %s with EMANIFEST naming the export, the side and the rule', (_, schema, problem) => {
    const e = refused(manifest(schema));
    expect(e.code).toBe('EMANIFEST');
    expect(e.details).toMatchObject({ check: 'manifest', export: 'add', side: 'input' });
    expect(e.message).toContain('export "add": its input schema is refused: ');
    expect(e.message).toContain(problem);
  });

  it(`refuses a schema nested deeper than ${MAX_SCHEMA_DEPTH} levels`, () => {
    let deep: object = { type: 'integer' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH; i++) deep = { type: 'array', items: deep }; // 33 levels of objects
    expect(refused(manifest(deep)).details.problem).toBe(`it nests deeper than ${MAX_SCHEMA_DEPTH} levels (at ${'/items'.repeat(MAX_SCHEMA_DEPTH)})`);
    let fits: object = { type: 'integer' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH - 1; i++) fits = { type: 'array', items: fits };
    expect(() => validateManifest(manifest(fits))).not.toThrow();
  });

  it(`refuses a schema over ${MAX_SCHEMA_BYTES} bytes of canonical JSON`, () => {
    const big = { type: 'string', enum: ['x'.repeat(MAX_SCHEMA_BYTES)] };
    expect(refused(manifest(big)).details.problem).toBe(`it is ${MAX_SCHEMA_BYTES + 29} bytes of canonical JSON, the limit is ${MAX_SCHEMA_BYTES}`);
  });

  it('refuses the output side the same way, and the manifest schema refuses a schema that is no object', () => {
    const e = refused({ ...manifest(undefined), exports: [{ name: 'add', output: { type: 'strin' } }] });
    expect(e.details).toMatchObject({ export: 'add', side: 'output' });
    expect(refused(manifest('string')).message).toMatch(/exports\/0\/input must be object/);
  });

  it.each(['^1.2', '^1.0', '>=1.2.5 <2', '*'])('refuses schemas under "abi": %j, which allows a host that never checks them', (abi) => {
    const e = refused(manifest(add, { abi }));
    expect(e.code).toBe('EMANIFEST');
    expect(e.details).toMatchObject({ check: 'manifest', export: 'add', got: abi });
    expect(e.message).toContain('need "abi": "^1.3"');
  });

  it.each(['^1.3', '~1.3.1', '>=1.3.0 <2'])('takes schemas under "abi": %j, and a 1.2 manifest without schemas', (abi) => {
    expect(() => validateManifest(manifest(add, { abi }))).not.toThrow();
    expect(() => validateManifest(manifest(undefined, { abi: '^1.2' }))).not.toThrow();
  });
});

describe('checking a value', () => {
  const check = (value: unknown) =>
    exportSchemas(validateManifest(manifest(add)))
      .get('add')!
      .input!.check(value);

  it('passes a value that fits', () => {
    expect(check({ by: 2, note: null, tags: ['a', 'b'] })).toBeUndefined();
  });

  it.each([
    [{ by: 'two' }, { pointer: '/by', expected: 'integer (type)', got: '"two"' }],
    [{}, { pointer: '', expected: "must have required property 'by' (required)", got: 'object' }],
    [{ by: 0 }, { pointer: '/by', expected: 'must be >= 1 (minimum)', got: 'number 0' }],
    [
      { by: 1, note: 'n'.repeat(1 << 20) },
      { pointer: '/note', expected: 'must NOT have more than 16 characters (maxLength)', got: 'string(1048576)' },
    ],
    [
      { by: 1, extra: [[[[]]]] },
      { pointer: '', expected: 'must NOT have additional properties (additionalProperties)', got: 'object' },
    ],
    [
      {
        by: 1,
        tags: [
          { a: 1, b: [2] },
          { b: [2.0], a: 1 },
        ],
      },
      { pointer: '/tags', expected: 'must NOT have duplicate items (uniqueItems)', got: 'array(2)' },
    ],
    [[1], { pointer: '', expected: 'object (type)', got: 'array(1)' }],
  ])('%#: names the pointer, what was expected and what came', (value, violation) => {
    expect(check(value)).toEqual(violation);
  });

  it('has no JSON view for bytes, nor for an integer past 2^53', () => {
    expect(check({ by: 1, note: new Uint8Array(3) })).toEqual({
      pointer: '/note',
      expected: 'a value with a JSON view (bytes have none)',
      got: 'Uint8Array(3)',
    });
    expect(check({ by: 2n ** 60n })).toEqual({
      pointer: '/by',
      expected: 'a value with a JSON view (integers within ±(2^53 − 1))',
      got: 'an integer beyond ±(2^53 − 1)',
    });
  });

  it('matches patterns in linear time (RE2), and finds duplicates among many small arrays', () => {
    const m = validateManifest(
      manifest({ type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' }, t: { type: 'array', uniqueItems: true } } }),
    );
    const c = exportSchemas(m).get('add')!.input!;
    // Backtracking would take longer than the universe has; RE2 answers.
    expect(c.check({ s: `${'a'.repeat(100_000)}b` })).toMatchObject({ pointer: '/s', expected: 'must match pattern "^(a+)+$" (pattern)' });
    expect(c.check({ s: 'aaa' })).toBeUndefined();
    const many = Array.from({ length: 200_000 }, (_, i) => [i]);
    expect(c.check({ t: many })).toBeUndefined();
    many.push([0]);
    expect(c.check({ t: many })).toMatchObject({ pointer: '/t' });
  });
});
