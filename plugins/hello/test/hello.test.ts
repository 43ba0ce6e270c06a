/**
 * hello's exports, run through Extism with the in-memory stand-in host (the kernel-level tests
 * live with the kernel). Built with the real build, so the manifest section is checked too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg';
import { readManifest } from '@mcp0/abi';
import { unsigned } from '../../../test/fixtures.js';
import { loadGuest, type Outcome } from '../../../test/guest/harness.js';

const dir = fileURLToPath(new URL('..', import.meta.url));
const grants = ['kv', 'clock', 'random'];
let wasm: Uint8Array;

beforeAll(async () => {
  wasm = await unsigned('hello');
});

const enc = (v: unknown): Uint8Array => cborgEncode(v, rfc8949EncodeOptions);

function output(o: Outcome): unknown {
  if (o.kind !== 'output') throw new Error(`expected output, got ${o.kind}: ${o.kind === 'error' ? `${o.code} ${o.message}` : o.error.message}`);
  return cborgDecode(o.bytes);
}

describe('mcp0.hello', () => {
  it('carries its manifest', () => {
    expect(readManifest(wasm)).toEqual(JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8')));
  });

  it('answers the version marker, init and stop', async () => {
    const g = await loadGuest(wasm, { grants, kvPrefix: 'hello/' });
    expect(output(await g.call('mcp0_abi_v1'))).toBe('1.0.0');
    expect(await g.call('mcp0_init', enc({}))).toEqual({ kind: 'output', bytes: new Uint8Array(0) });
    expect(await g.call('mcp0_stop')).toEqual({ kind: 'output', bytes: new Uint8Array(0) });
  });

  it('echo returns its input byte for byte, CBOR or not', async () => {
    const g = await loadGuest(wasm, { grants, kvPrefix: 'hello/' });
    for (const n of [0, 1, 7, 8, 9, 1000, 65536]) {
      const input = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
      expect(await g.call('echo', input)).toEqual({ kind: 'output', bytes: input });
    }
  });

  it('count adds to a counter kept in kv under hello/', async () => {
    const g = await loadGuest(wasm, { grants, kvPrefix: 'hello/' });
    expect(output(await g.call('count', enc({ key: 'a' })))).toEqual({ key: 'a', value: 1 });
    expect(output(await g.call('count', enc({ key: 'a', by: 5 })))).toEqual({ key: 'a', value: 6 });
    expect(output(await g.call('count', enc({ key: 'ü', by: 0 })))).toEqual({ key: 'ü', value: 0 });
    expect(cborgDecode(g.host.kv.get('hello/a')!)).toBe(6);
    g.host.kv.set('hello/big', enc(2n ** 64n - 2n));
    expect(output(await g.call('count', enc({ key: 'big' })))).toEqual({ key: 'big', value: 2n ** 64n - 1n });
    expect(await g.call('count', enc({ key: 'big' }))).toMatchObject({ kind: 'error', code: 'EINPUT', message: expect.stringMatching(/overflow/) });
  });

  it('count rejects bad input with EINPUT saying what it expected', async () => {
    const g = await loadGuest(wasm, { grants, kvPrefix: 'hello/' });
    expect(await g.call('count', enc({}))).toEqual({ kind: 'error', code: 'EINPUT', message: '"key" is missing, expected text' });
    expect(await g.call('count', enc({ key: 1 }))).toEqual({ kind: 'error', code: 'EINPUT', message: '"key" expected text, got uint' });
    expect(await g.call('count', enc({ key: 'a', by: 'x' }))).toEqual({ kind: 'error', code: 'EINPUT', message: '"by" expected uint, got text' });
    expect(await g.call('count', enc('a'))).toEqual({ kind: 'error', code: 'EINPUT', message: 'input: expected a CBOR map, got text' });
    expect(await g.call('count', Uint8Array.of(0x1f))).toMatchObject({ kind: 'error', code: 'EINPUT' });
    expect(await g.call('count')).toMatchObject({ kind: 'error', code: 'EINPUT', message: expect.stringMatching(/0 bytes/) });
  });

  it('count passes host errors through: EPERM without kv, ESTATE on a corrupt counter', async () => {
    const denied = await loadGuest(wasm, { grants: ['clock', 'random'] });
    expect(await denied.call('count', enc({ key: 'a' }))).toMatchObject({ kind: 'error', code: 'EPERM' });
    const g = await loadGuest(wasm, { grants, kvPrefix: 'hello/' });
    g.host.kv.set('hello/bad', enc('not a number'));
    expect(await g.call('count', enc({ key: 'bad' }))).toMatchObject({ kind: 'error', code: 'ESTATE' });
  });

  it('stamp returns the host time and 8 random bytes', async () => {
    const g = await loadGuest(wasm, { grants, kvPrefix: 'hello/', now: 1_700_000_000_123 });
    const out = output(await g.call('stamp')) as { time: number; nonce: Uint8Array };
    expect(out.time).toBe(1_700_000_000_123);
    expect(out.nonce).toBeInstanceOf(Uint8Array);
    expect(out.nonce.length).toBe(8);
    const denied = await loadGuest(wasm, { grants: ['kv'] });
    expect(await denied.call('stamp')).toMatchObject({ kind: 'error', code: 'EPERM' });
  });

  it('greet says hello in UTF-8, non-ASCII included', async () => {
    const g = await loadGuest(wasm, { grants, kvPrefix: 'hello/' });
    for (const name of ['world', 'wörld', '世界', '🌍 and "quotes"', '']) {
      expect(output(await g.call('greet', enc({ name })))).toBe(`hello, ${name}`);
    }
    expect(await g.call('greet', enc({ name: null }))).toEqual({ kind: 'error', code: 'EINPUT', message: '"name" expected text, got null' });
  });
});
