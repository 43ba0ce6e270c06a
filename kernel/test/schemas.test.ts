// ABI 1.3's schemas on exports, through the kernel: a module whose manifest carries schemas has its
// input refused before any hook runs (the gate's records stay as they were), its output checked
// after the export, its direct calls checked both ways; a module without schemas is unchanged, and
// a manifest whose schema breaks the rules does not load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallError,
  LoadError,
  appendCustomSection,
  appendManifest,
  encodeCbor,
  readManifest,
  removeCustomSections,
  signModule,
  type Manifest,
} from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import canonicalize from 'canonicalize';
import { publisher, signed, trusted, unsigned } from '../../test/fixtures.js';
import { callRejection } from '../../test/rejection.js';
import { TestKv } from './memory-kv.js';

/** `ok` echoes its input; `huge` answers N zero bytes for input N, which as CBOR is the integer 0. */
const OK_INPUT = {
  type: 'object',
  properties: { n: { type: 'integer' }, name: { type: 'string', maxLength: 64 }, list: { type: 'array', maxItems: 8, items: { type: 'integer' } } },
  required: ['n'],
  additionalProperties: false,
};
const SCHEMAS: Record<string, Pick<Manifest['exports'][number], 'input' | 'output'>> = {
  ok: { input: OK_INPUT, output: OK_INPUT },
  huge: { input: { type: 'integer', minimum: 0, maximum: 16 }, output: { type: 'string' } },
};

/** The hostile fixture under another name, its manifest carrying SCHEMAS (or `edit`'s), signed. */
async function withSchemas(edit: (m: Manifest) => Manifest = (m) => m): Promise<Uint8Array> {
  const bytes = await unsigned('hostile');
  const m = readManifest(bytes);
  const manifest = edit({ ...m, name: 'test.schemas', abi: '^1.3', exports: m.exports.map((e) => ({ ...e, ...SCHEMAS[e.name] })) });
  return signModule(appendManifest(bytes, manifest), publisher);
}

/** The same, with the manifest section written as is: what a hostile publisher could sign. */
async function rawManifest(manifest: unknown): Promise<Uint8Array> {
  const bare = removeCustomSections(await unsigned('hostile'), 'mcp0.manifest');
  return signModule(appendCustomSection(bare, 'mcp0.manifest', new TextEncoder().encode(canonicalize(manifest)!)), publisher);
}

describe('schemas on exports, through the kernel', () => {
  let kernel: Kernel;
  const seen = () => kernel.callValue('test.gate', 'seen', {}) as Promise<{ count: number; last: string | null }>;
  const causes = () => kernel.callValue('test.gate', 'causes', {}) as Promise<{ admit: unknown; observe: unknown }>;
  const calls = () => kernel.metrics()['test.schemas']!.calls;

  beforeAll(async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    await kernel.load(await signed('gate'), { grants: [{ name: 'kv' }] });
    await kernel.load(await withSchemas(), { isolation: 'worker', timeoutMs: 2000 });
    await kernel.load(await signed('hostile'), { isolation: 'worker', timeoutMs: 2000 });
    kernel.setPipeline({ admit: ['test.gate'], observe: ['test.gate'] });
  });
  afterAll(() => kernel.stop());

  it('runs an operation whose input and output fit', async () => {
    const input = encodeCbor({ n: 1, name: 'Ada', list: [1, 2] });
    const r = await kernel.execute({ agent: 'test.schemas', intent: 'ok', input });
    expect(r.output).toEqual(input);
    expect(await seen()).toEqual({ count: 1, last: 'ok' });
  });

  it.each([
    ['a wrong type', { n: 'one' }, { pointer: '/n', expected: 'integer (type)', got: '"one"' }],
    ['a missing member', { name: 'Ada' }, { pointer: '', expected: "must have required property 'n' (required)" }],
    ['a huge string', { n: 1, name: 'x'.repeat(1 << 20) }, { pointer: '/name', got: 'string(1048576)' }],
    ['a long array', { n: 1, list: Array.from({ length: 100_000 }, () => 1) }, { pointer: '/list', expected: 'must NOT have more than 8 items (maxItems)' }],
    ['nesting the schema does not allow', { n: 1, list: [[[[[[[[[[1]]]]]]]]]] }, { pointer: '/list/0', expected: 'integer (type)' }],
    ['bytes', { n: new Uint8Array(4) }, { pointer: '/n', expected: 'a value with a JSON view (bytes have none)' }],
    ['an integer past 2^53', { n: 2n ** 63n }, { pointer: '/n', got: 'an integer beyond ±(2^53 − 1)' }],
  ])('refuses %s with EINPUT before any hook runs, and never observes it', async (_, value, details) => {
    // A cause marks what the gate's admit last saw: a refused operation must leave it as it was.
    const before = new Uint8Array(32).fill(1);
    await kernel.execute({ agent: 'test.schemas', intent: 'ok', input: encodeCbor({ n: 2 }), cause: before });
    const { count } = await seen();
    const ran = calls();
    const e = await callRejection(kernel.execute({ agent: 'test.schemas', intent: 'ok', input: encodeCbor(value), cause: new Uint8Array(32).fill(2) }));
    expect(e.code).toBe('EINPUT');
    expect(e.details).toMatchObject({ module: 'test.schemas', export: 'ok', side: 'input', reason: 'schema', ...details });
    expect(e.message).toContain(`test.schemas/ok: the input breaks its input schema at ${details.pointer || '/'}: expected `);
    expect(await causes()).toEqual({ admit: before, observe: before });
    expect(await seen()).toEqual({ count, last: 'ok' });
    expect(calls()).toBe(ran);
  });

  it('refuses CBOR nested deeper than 64 levels, and bytes that are not CBOR, before any hook', async () => {
    const { count } = await seen();
    const deep = new Uint8Array(70).fill(0x81); // 70 arrays of one item, around nothing: over the CBOR depth bound
    const e = await callRejection(kernel.execute({ agent: 'test.schemas', intent: 'ok', input: deep }));
    expect(e).toMatchObject({ code: 'EINPUT', details: { side: 'input' } });
    expect(e.message).toMatch(/nesting deeper than 64 levels/);
    await expect(kernel.execute({ agent: 'test.schemas', intent: 'ok', input: Uint8Array.of(0xff) })).rejects.toMatchObject({ code: 'EINPUT' });
    expect((await seen()).count).toBe(count);
  });

  it('fails an operation whose output breaks its schema with EGUEST, observed as an error', async () => {
    const { count } = await seen();
    const e = await callRejection(kernel.execute({ agent: 'test.schemas', intent: 'huge', input: encodeCbor(1) }));
    expect(e.code).toBe('EGUEST');
    expect(e.details).toMatchObject({ module: 'test.schemas', export: 'huge', side: 'output', pointer: '', expected: 'string (type)', got: 'number 0' });
    expect(e.details.cost).toBeGreaterThanOrEqual(1);
    expect(e.message).toBe('test.schemas/huge: the output breaks its own output schema at /: expected string (type), got number 0');
    expect(await seen()).toEqual({ count: count + 1, last: 'error' });
    // The module kept its instance: a broken promise is not a broken instance.
    expect(kernel.module('test.schemas').state).toBe('running');
  });

  it('checks direct calls both ways', async () => {
    expect(await kernel.callValue('test.schemas', 'ok', { n: 3 })).toEqual({ n: 3 });
    const ran = calls();
    await expect(kernel.callValue('test.schemas', 'ok', { n: 3, extra: true })).rejects.toMatchObject({
      code: 'EINPUT',
      details: { side: 'input', pointer: '', expected: 'must NOT have additional properties (additionalProperties)' },
    });
    await expect(kernel.call('test.schemas', 'ok', new Uint8Array(0))).rejects.toMatchObject({
      code: 'EINPUT',
      details: { pointer: '', expected: 'object (type)', got: 'null' },
    });
    await expect(kernel.callValue('test.schemas', 'huge', 99)).rejects.toMatchObject({ code: 'EINPUT', details: { expected: 'must be <= 16 (maximum)' } });
    expect(calls()).toBe(ran);
    await expect(kernel.callValue('test.schemas', 'huge', 2)).rejects.toMatchObject({ code: 'EGUEST', details: { side: 'output' } });
    // An export without schemas in the same module is not checked.
    expect(await kernel.callValue('test.schemas', 'denied', 'anything')).toBe('EPERM');
  });

  it('leaves a module without schemas as it was', async () => {
    const r = await kernel.execute({ agent: 'test.hostile', intent: 'ok', input: Uint8Array.of(0xff, 0x00) });
    expect(r.output).toEqual(Uint8Array.of(0xff, 0x00));
    expect(await kernel.call('test.hostile', 'huge', encodeCbor(1))).toEqual(new Uint8Array(1));
    expect(kernel.module('test.hostile').exportSchemas('ok')).toEqual({});
  });

  it('exposes the schemas as the signed manifest gives them', () => {
    const m = kernel.module('test.schemas');
    expect(m.exportSchemas('ok')).toEqual({ input: OK_INPUT, output: OK_INPUT });
    expect(m.exportSchemas('loop')).toEqual({});
    expect(m.manifest.exports.find((e) => e.name === 'huge')).toMatchObject(SCHEMAS.huge!);
    expect(Object.isFrozen(m.exportSchemas('ok').input)).toBe(true);
    expect(() => m.exportSchemas('nope')).toThrow(expect.objectContaining({ code: 'ENOTFOUND' }));
  });
});

describe('loading a manifest with schemas', () => {
  const load = async (bytes: Uint8Array) => {
    const kernel = new Kernel({ trust: [trusted] });
    try {
      await kernel.load(bytes, { isolation: 'worker' });
      return undefined;
    } catch (e) {
      return e;
    } finally {
      await kernel.stop();
    }
  };
  const hostile = async () => readManifest(await unsigned('hostile'));

  it.each([
    ['a remote $ref', { $ref: 'https://example.com/s.json' }, 'is not local'],
    ['an unknown keyword', { type: 'object', requird: ['n'] }, 'unknown keyword: "requird"'],
    ['a pattern that backtracks', { type: 'string', pattern: '^(?!x)' }, 'invalid or unsupported Perl syntax'],
  ])('refuses %s with EMANIFEST naming the export, whoever signed it', async (_, schema, problem) => {
    const m = await hostile();
    const e = await load(await rawManifest({ ...m, abi: '^1.3', exports: m.exports.map((x) => (x.name === 'ok' ? { ...x, input: schema } : x)) }));
    expect(e).toBeInstanceOf(LoadError);
    expect(e).toMatchObject({ code: 'EMANIFEST', details: { check: 'manifest', export: 'ok', side: 'input' } });
    expect((e as LoadError).message).toContain(problem);
  });

  it('refuses schemas under "abi": "^1.2" with EMANIFEST, and loads the same module under "^1.3"', async () => {
    const m = await hostile();
    const exports = m.exports.map((x) => (x.name === 'ok' ? { ...x, input: { type: 'object' } } : x));
    const e = await load(await rawManifest({ ...m, abi: '^1.2', exports }));
    expect(e).toMatchObject({ code: 'EMANIFEST', details: { export: 'ok', got: '^1.2' } });
    expect(await load(await rawManifest({ ...m, abi: '^1.3', exports }))).toBeUndefined();
  });
});
