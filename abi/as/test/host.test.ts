/**
 * The guest library's other half: the host-function wrappers (against the stand-in host), request
 * reading with Args, the error JSON, the abort path through `panic`, and the version marker.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, sign } from 'node:crypto';
import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg';
import { compileAssembly } from '@mcp0/builder';
import { loadGuest, type Outcome } from '../../../test/guest/harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let wasm: Uint8Array;

beforeAll(async () => {
  wasm = await compileAssembly({ baseDir: here, entry: 'guest/index.ts' });
});

const enc = (v: unknown): Uint8Array => cborgEncode(v, rfc8949EncodeOptions);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function output(o: Outcome): unknown {
  if (o.kind !== 'output') throw new Error(`expected output, got ${o.kind}: ${o.kind === 'error' ? `${o.code} ${o.message}` : o.error.message}`);
  return cborgDecode(o.bytes, { useMaps: false });
}

describe('guest library', () => {
  it('imports only extism:host/env and mcp0:abi/v1, and never env.abort', () => {
    const modules = new Set(WebAssembly.Module.imports(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)).map((i) => i.module));
    expect([...modules].sort()).toEqual(['extism:host/env', 'mcp0:abi/v1']);
  });

  it('outputs the version marker as CBOR text "1.0.0"', async () => {
    const g = await loadGuest(wasm);
    expect(output(await g.call('mcp0_abi_v1'))).toBe('1.0.0');
  });

  it('calls every host function with deterministic CBOR and reads every reply shape', async () => {
    const g = await loadGuest(wasm, {
      kvPrefix: 't/',
      now: 1_234_567,
      peers: { 'test.echo': { echo: (input) => input } },
    });
    g.host.kv.set('t/b', new Uint8Array(0)); // overwritten by the guest
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const key = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const msg = utf8('signed message');
    const sig = sign(null, msg, privateKey);
    const out = output(await g.call('tour', enc({ key: new Uint8Array(key), msg, sig: new Uint8Array(sig) }))) as Record<string, unknown>;
    const sha = new Uint8Array(Buffer.from('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'hex'));
    expect(out).toEqual({
      clock: 1_234_567,
      random: expect.any(Uint8Array),
      kv_put: null,
      kv_get: utf8('A'),
      kv_get_missing: null,
      kv_scan: ['t/b'],
      kv_delete: [true, false],
      kv_denied: 'EPERM', // u/c was denied too: outside the prefix
      blocks_put: expect.any(Uint8Array),
      blocks_get: utf8('block one'),
      blocks_has: [true, false],
      ref_get_none: null,
      ref_cas: [1, 'ECONFLICT'],
      ref_get: 1,
      call: utf8('hi'),
      call_missing: 'ENOTFOUND',
      sha256: sha,
      ed25519: [true, false],
      net_send: null,
      emit: null,
    });
    expect((out.random as Uint8Array).length).toBe(4);
    expect(g.host.kv.has('u/c')).toBe(false);
    expect(g.host.logs).toEqual([{ level: 'info', msg: 'tour: ü' }]);
    expect(g.host.events).toEqual([{ topic: 'tour.done', data: { n: 1 } }]);
    expect(g.host.sent.map((s) => s.peer)).toEqual(['peer-1']);
    expect(g.host.nonCanonical).toEqual([]);
  });

  it('passes EPERM through when a capability is not granted', async () => {
    const g = await loadGuest(wasm, { grants: ['crypto'] });
    const out = output(await g.call('tour', enc({ key: new Uint8Array(32), msg: new Uint8Array(0), sig: new Uint8Array(64) }))) as Record<string, unknown>;
    expect(out.clock).toBe('EPERM');
    expect(out.kv_put).toBe('EPERM');
    expect(out.call).toBe('EPERM');
    expect(out.emit).toBe('EPERM');
    expect(g.host.logs.length).toBe(1); // log is always granted
  });

  it('reads request maps with Args, naming what was expected and what came', async () => {
    const g = await loadGuest(wasm);
    expect(output(await g.call('args', enc({ s: 'x', flag: true })))).toEqual({ s: 'x', n: 7, b: null, flag: true });
    expect(output(await g.call('args', enc({ s: 'x', n: 3, b: new Uint8Array([1]), flag: false })))).toEqual({ s: 'x', n: 3, b: new Uint8Array([1]), flag: false });
    const cases: [unknown, string][] = [
      [{ flag: true }, '"s" is missing, expected text'],
      [{ s: 1, flag: true }, '"s" expected text, got uint'],
      [{ s: 'x', n: 'seven', flag: true }, '"n" expected uint, got text'],
      [{ s: 'x', n: -1, flag: true }, '"n" expected uint, got negint'],
      [{ s: 'x' }, '"flag" is missing, expected bool'],
      [[1, 2], 'input: expected a CBOR map, got array'],
    ];
    for (const [input, message] of cases) {
      expect(await g.call('args', enc(input))).toEqual({ kind: 'error', code: 'EINPUT', message });
    }
    const bad = await g.call('args', Uint8Array.of(0xbf));
    expect(bad).toMatchObject({ kind: 'error', code: 'EINPUT', message: expect.stringMatching(/^input: CBOR: indefinite lengths/) });
  });

  it('writes the error as JSON the host can parse, whatever the message holds', async () => {
    const g = await loadGuest(wasm);
    for (const message of ['plain', 'quote " backslash \\ slash /', 'control \n\r\t\u0001\u001f', 'ü水🌊', '']) {
      expect(await g.call('failjson', utf8(message))).toEqual({ kind: 'error', code: 'ETEST', message });
    }
  });

  it('routes aborts through the host panic function, then traps', async () => {
    const g = await loadGuest(wasm);
    const o = await g.call('boom');
    expect(o.kind).toBe('trap');
    if (o.kind === 'trap') expect(o.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(g.host.panics).toEqual([{ message: 'boom: ü', file: 'guest/index.ts', line: expect.any(Number), column: expect.any(Number) }]);
    const oob = await g.call('oob');
    expect(oob.kind).toBe('trap');
    expect(g.host.panics[1]).toMatchObject({ message: 'Index out of range', file: expect.stringContaining('~lib/') });
    // The module still answers after its traps (the kernel recreates it anyway).
    expect(output(await g.call('mcp0_abi_v1'))).toBe('1.0.0');
  });
});
