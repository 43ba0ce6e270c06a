/**
 * The guest library's other half: the host-function wrappers (against the stand-in host), request
 * reading with Args, the hook helpers (hooks.ts: reading admit and observe input, the verdicts),
 * the error JSON, the abort path through `panic`, and the version marker.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, sign } from 'node:crypto';
import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg';
import { compileAssembly } from '@mcp0/builder';
import { ed25519Thumbprint } from '../../src/keys/thumbprint.js';
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

  describe('hook helpers', () => {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const op = (o: Record<string, unknown> = {}) => ({ id: 'op-1', agent: 'acme.notes', intent: 'remember', time: 1_700_000_000_000, inputBytes: 12, ...o });
    const h1 = new Uint8Array(32).fill(1);
    const h2 = new Uint8Array(32).fill(2);
    const outcome = (o: Record<string, unknown> = {}) => ({ status: 'ok', cost: 3, wallUs: 150, bytesIn: 12, bytesOut: 40, inputHash: h1, outputHash: h2, ...o });
    /** `m` without `key`: a missing member (cborg would encode undefined, which is not in the profile). */
    const without = (m: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== key));
    /** What hookobserve echoes for `outcome(o)`: code and message "" when absent. */
    const echoed = (o: Record<string, unknown> = {}) => ({ code: '', message: '', ...outcome(o) });
    const bytesOf = (o: Awaited<ReturnType<typeof call>>): Uint8Array => {
      if (o.kind !== 'output') throw new Error(`expected output, got ${o.kind}: ${o.kind === 'error' ? `${o.code} ${o.message}` : o.error.message}`);
      return o.bytes;
    };
    let g: Awaited<ReturnType<typeof loadGuest>>;
    const call = (name: string, input?: Uint8Array) => g.call(name, input);

    beforeAll(async () => {
      g = await loadGuest(wasm);
    });

    it('readAdmit reads every op member, the whole u64 range, and ignores members it does not know', async () => {
      expect(hex(bytesOf(await call('hookadmit', enc({ op: op() }))))).toBe(hex(enc({ op: op() })));
      const max = { id: 'ü水🌊', agent: 'a', intent: 'i', time: 2n ** 64n - 1n, inputBytes: 0 };
      expect(hex(bytesOf(await call('hookadmit', enc({ op: max }))))).toBe(hex(enc({ op: max })));
      // A later v1.x may add members: an old hook keeps reading what it knows.
      expect(hex(bytesOf(await call('hookadmit', enc({ op: op({ future: [1] }), also: true }))))).toBe(hex(enc({ op: op() })));
      // The observe input is an admit input with an outcome: readAdmit reads its op.
      expect(hex(bytesOf(await call('hookadmit', enc({ op: op(), outcome: outcome() }))))).toBe(hex(enc({ op: op() })));
    });

    it('reads the optional op.cause (v1.2) when it is there, in both hooks', async () => {
      const cause = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
      expect(hex(bytesOf(await call('hookadmit', enc({ op: op({ cause }) }))))).toBe(hex(enc({ op: op({ cause }) })));
      expect(hex(bytesOf(await call('hookobserve', enc({ op: op({ cause }), outcome: outcome() }))))).toBe(
        hex(enc({ op: op({ cause }), outcome: echoed() })),
      );
      // Absent is no cause: the echo has no member, as for a host before 1.2.
      expect(hex(bytesOf(await call('hookobserve', enc({ op: op(), outcome: outcome() }))))).toBe(hex(enc({ op: op(), outcome: echoed() })));
    });

    it('readObserve reads ok, error and denied outcomes, with code and message when present', async () => {
      const error = { status: 'error', code: 'ETRAP', message: 'unreachable executed', cost: 2n ** 40n };
      const denied = { status: 'denied', code: 'EDENIED', message: 'mcp0.policy denied acme.notes/remember: busy', cost: 0, wallUs: 0, bytesOut: 0 };
      const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
        ['ok', {}, echoed()],
        ['error', error, echoed(error)],
        ['denied', denied, echoed(denied)],
        ['null code and message', { code: null, message: null }, echoed()], // null is absent, as for every optional member (Args)
        ['a member it does not know', { next: 'v1.2' }, echoed()],
      ];
      for (const [name, given, want] of cases) {
        expect(hex(bytesOf(await call('hookobserve', enc({ op: op(), outcome: outcome(given) } as never)))), name).toBe(hex(enc({ op: op(), outcome: want } as never)));
      }
    });

    it('names the member, what was expected and what came (EINPUT)', async () => {
      const admit: [unknown, string][] = [
        ...(['id', 'agent', 'intent'] as const).map((k): [unknown, string] => [{ op: without(op(), k) }, `op."${k}" is missing, expected text`]),
        ...(['time', 'inputBytes'] as const).map((k): [unknown, string] => [{ op: without(op(), k) }, `op."${k}" is missing, expected uint`]),
        [{ op: op({ agent: 1 }) }, 'op."agent" expected text, got uint'],
        [{ op: op({ id: new Uint8Array(2) }) }, 'op."id" expected text, got bytes'],
        [{ op: op({ intent: null }) }, 'op."intent" expected text, got null'],
        [{ op: op({ time: -1 }) }, 'op."time" expected uint, got negint'],
        [{ op: op({ time: 1.5 }) }, 'op."time" expected uint, got float'],
        [{ op: op({ inputBytes: '12' }) }, 'op."inputBytes" expected uint, got text'],
        [{ op: op({ agent: 1, time: 'x' }) }, 'op."agent" expected text, got uint'], // the first problem
        // A cause is bound into hash chains: exactly 32 bytes, and null is not "none" (absent is).
        [{ op: op({ cause: new Uint8Array(31) }) }, 'op."cause" expected 32 bytes, got 31'],
        [{ op: op({ cause: new Uint8Array(33) }) }, 'op."cause" expected 32 bytes, got 33'],
        [{ op: op({ cause: new Uint8Array(0) }) }, 'op."cause" expected 32 bytes, got 0'],
        [{ op: op({ cause: 'ab'.repeat(16) }) }, 'op."cause" expected bytes, got text'],
        [{ op: op({ cause: null }) }, 'op."cause" expected bytes, got null'],
        [{ op: op({ cause: [new Uint8Array(32)] }) }, 'op."cause" expected bytes, got array'],
        [{ op: op({ agent: 1, cause: new Uint8Array(1) }) }, 'op."agent" expected text, got uint'],
        [{}, '"op" is missing, expected map'],
        [{ op: 'x' }, '"op" expected map, got text'],
        [{ op: [op()] }, '"op" expected map, got array'],
        [[{ op: op() }], 'input: expected a CBOR map, got array'],
        ['op', 'input: expected a CBOR map, got text'],
        [null, 'input: expected a CBOR map, got null'],
      ];
      for (const [input, message] of admit) {
        expect(await call('hookadmit', enc(input as never)), message).toEqual({ kind: 'error', code: 'EINPUT', message });
      }
      const observe: [unknown, string][] = [
        ...(['cost', 'wallUs', 'bytesIn', 'bytesOut'] as const).map((k): [unknown, string] => [
          { op: op(), outcome: without(outcome(), k) },
          `outcome."${k}" is missing, expected uint`,
        ]),
        ...(['inputHash', 'outputHash'] as const).map((k): [unknown, string] => [
          { op: op(), outcome: without(outcome(), k) },
          `outcome."${k}" is missing, expected bytes`,
        ]),
        [{ op: op(), outcome: without(outcome(), 'status') }, 'outcome."status" is missing, expected text'],
        [{ op: op(), outcome: outcome({ status: 1 }) }, 'outcome."status" expected text, got uint'],
        [{ op: op(), outcome: outcome({ status: 'maybe' }) }, 'outcome."status" expected "ok", "error" or "denied", got "maybe"'],
        [{ op: op(), outcome: outcome({ status: 'OK' }) }, 'outcome."status" expected "ok", "error" or "denied", got "OK"'],
        [{ op: op(), outcome: outcome({ status: 'maybe', cost: 'x' }) }, 'outcome."status" expected "ok", "error" or "denied", got "maybe"'],
        [{ op: op(), outcome: outcome({ code: 7 }) }, 'outcome."code" expected text, got uint'],
        [{ op: op(), outcome: outcome({ message: new Uint8Array(1) }) }, 'outcome."message" expected text, got bytes'],
        [{ op: op(), outcome: outcome({ cost: -3 }) }, 'outcome."cost" expected uint, got negint'],
        [{ op: op(), outcome: outcome({ wallUs: 0.5 }) }, 'outcome."wallUs" expected uint, got float'],
        [{ op: op(), outcome: outcome({ bytesOut: true }) }, 'outcome."bytesOut" expected uint, got bool'],
        [{ op: op(), outcome: outcome({ inputHash: new Uint8Array(31) }) }, 'outcome."inputHash" expected 32 bytes, got 31'],
        [{ op: op(), outcome: outcome({ inputHash: new Uint8Array(0) }) }, 'outcome."inputHash" expected 32 bytes, got 0'],
        [{ op: op(), outcome: outcome({ outputHash: new Uint8Array(33) }) }, 'outcome."outputHash" expected 32 bytes, got 33'],
        [{ op: op(), outcome: outcome({ outputHash: 'abc' }) }, 'outcome."outputHash" expected bytes, got text'],
        [{ op: op({ agent: 1 }), outcome: outcome({ status: 'maybe' }) }, 'op."agent" expected text, got uint'],
        [{ op: op({ cause: new Uint8Array(33) }), outcome: outcome({ status: 'maybe' }) }, 'op."cause" expected 32 bytes, got 33'],
        [{ op: op() }, '"outcome" is missing, expected map'],
        [{ op: op(), outcome: [outcome()] }, '"outcome" expected map, got array'],
        [{ outcome: outcome() }, '"op" is missing, expected map'],
        [{ op: 'x', outcome: outcome() }, '"op" expected map, got text'],
        [[], 'input: expected a CBOR map, got array'],
      ];
      for (const [input, message] of observe) {
        expect(await call('hookobserve', enc(input as never)), message).toEqual({ kind: 'error', code: 'EINPUT', message });
      }
    });

    it('refuses bytes that are not one strict CBOR item with EINPUT, never a trap', async () => {
      for (const name of ['hookadmit', 'hookobserve']) {
        expect(await call(name, new Uint8Array(0))).toEqual({ kind: 'error', code: 'EINPUT', message: 'input: CBOR: expected one data item, got 0 bytes' });
        for (const bytes of [Uint8Array.of(0xa2, 0x62), Uint8Array.of(0xbf, 0xff), Uint8Array.of(0xa1, 0x62, 0x6f, 0x70, 0xa0, 0x00), Uint8Array.of(0xff)]) {
          expect(await call(name, bytes), `${name} ${hex(bytes)}`).toMatchObject({ kind: 'error', code: 'EINPUT', message: expect.stringMatching(/^input: CBOR: /) });
        }
        // A map nested past the decoder's depth where op should be.
        let deep: unknown = {};
        for (let i = 0; i < 70; i++) deep = { op: deep };
        expect(await call(name, enc(deep as never))).toMatchObject({ kind: 'error', code: 'EINPUT', message: expect.stringMatching(/nesting deeper than 64/) });
      }
      expect(g.host.panics).toEqual([]);
    });

    it('allow answers {allow: true}, the same bytes every time', async () => {
      const out = bytesOf(await call('hookallow'));
      expect(hex(out)).toBe('a165616c6c6f77f5');
      expect(hex(out)).toBe(hex(enc({ allow: true })));
      expect(hex(bytesOf(await call('hookallow')))).toBe(hex(out));
    });

    it('deny answers {allow: false, reason}, with retryAfterMs only when it is ≥ 0', async () => {
      const deny = async (input: Record<string, unknown>) => bytesOf(await call('hookdeny', enc(input as never)));
      expect(hex(await deny({ reason: 'r' }))).toBe('a265616c6c6f77f466726561736f6e6172');
      expect(hex(await deny({ reason: 'r', retryAfterMs: 5 }))).toBe('a365616c6c6f77f466726561736f6e61726c726574727941667465724d7305');
      for (const [retryAfterMs, want] of [
        [undefined, {}],
        [-1, {}],
        [-5, {}],
        [0, { retryAfterMs: 0 }],
        [60_000, { retryAfterMs: 60_000 }],
        [2n ** 63n - 1n, { retryAfterMs: 2n ** 63n - 1n }],
      ] as [number | bigint | undefined, Record<string, unknown>][]) {
        const reason = 'quota-exhausted: 10 of 10 calls used, ü水🌊 "quoted"';
        const input = retryAfterMs === undefined ? { reason } : { reason, retryAfterMs };
        expect(hex(await deny(input)), String(retryAfterMs)).toBe(hex(enc({ allow: false, reason, ...want } as never)));
      }
    });
  });

  it('computes key ids as the host does (RFC 7638), through crypto_sha256', async () => {
    const g = await loadGuest(wasm);
    // RFC 8032 §7.1 test 1's public key, whose id the host library's own test pins.
    const rfc = new Uint8Array(Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'));
    expect(output(await g.call('keyid', enc({ key: rfc })))).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    for (let i = 0; i < 8; i++) {
      const key = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
      const bytes = new Uint8Array(Buffer.from(key, 'base64url'));
      expect(output(await g.call('keyid', enc({ key: bytes })))).toBe(ed25519Thumbprint(bytes));
    }
    expect(await g.call('keyid', enc({ key: new Uint8Array(31) }))).toEqual({
      kind: 'error',
      code: 'EINPUT',
      message: 'key id: expected a 32-byte Ed25519 public key, got 31 bytes',
    });
    const denied = await loadGuest(wasm, { grants: [] });
    expect(await denied.call('keyid', enc({ key: rfc }))).toMatchObject({ kind: 'error', code: 'EPERM' });
  });

  it('reads and writes canonical base64url only, and knows a key id by its shape', async () => {
    const g = await loadGuest(wasm);
    const b64 = async (bytes: Uint8Array, text: string) => output(await g.call('b64', enc({ bytes, text }))) as Record<string, unknown>;
    for (let n = 0; n < 7; n++) {
      const bytes = new Uint8Array(Array.from({ length: n }, (_, i) => 0xf0 + i * 3));
      const text = Buffer.from(bytes).toString('base64url');
      expect(await b64(bytes, text)).toEqual({ encoded: text, decoded: bytes, keyId: false });
    }
    // Not canonical: padding, leftover bits, another alphabet, a length no byte string has.
    for (const text of ['aGk=', 'aGl', 'aG+', 'a']) expect((await b64(new Uint8Array(0), text)).decoded, text).toBeNull();
    expect((await b64(new Uint8Array(0), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')).keyId).toBe(true);
    for (const text of ['kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4', 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k=', 'kPrK/qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'])
      expect((await b64(new Uint8Array(0), text)).keyId, text).toBe(false);
  });

  it('writes the error as JSON the host can parse, whatever the message holds', async () => {
    const g = await loadGuest(wasm);
    for (const message of ['plain', 'quote " backslash \\ slash /', 'control \n\r\t\u0001\u001f', 'ü水🌊', '']) {
      expect(await g.call('failjson', utf8(message))).toEqual({ kind: 'error', code: 'ETEST', message });
    }
  });

  it('writes error details as JSON: every CBOR kind, through Err and failWith', async () => {
    const g = await loadGuest(wasm);
    const details = {
      retryAfterMs: 20,
      big: 2n ** 64n - 1n,
      neg: -5,
      most: -(2n ** 64n),
      half: 1.5,
      yes: true,
      none: null,
      bytes: Uint8Array.of(0xfb, 0xff),
      text: 'ü "q"',
      list: [1, 'a', [], {}],
      nested: { a: { b: 1 } },
    };
    const o = await g.call('faildetails', enc({ code: 'EDENIED', message: 'rate-limited: m', details }));
    expect(o).toEqual({
      kind: 'error',
      code: 'EDENIED',
      message: 'rate-limited: m',
      details: {
        retryAfterMs: 20,
        big: 18446744073709551615,
        neg: -5,
        most: -18446744073709551616,
        half: 1.5,
        yes: true,
        none: null,
        bytes: '-_8',
        text: 'ü "q"',
        list: [1, 'a', [], {}],
        nested: { a: { b: 1 } },
      },
    });
    // Without details the JSON has none.
    expect(await g.call('failjson', utf8('m'))).toEqual({ kind: 'error', code: 'ETEST', message: 'm' });
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
