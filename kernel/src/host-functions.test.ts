// The host functions' answers as the guest reads them: the CBOR envelope each one returns, checked
// byte for byte against ABI.md §4 without a guest (a ProxyContext stands in for guest memory).
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, type CborValue } from '@mcp0/abi';
import { ProxyContext, type CallContext } from '@mcp0/sandbox';
import { CapabilitySet } from './capabilities.js';
import { hostFunctions, type HostEnv } from './host-functions.js';

const env: HostEnv = {
  module: 'test.env',
  caps: new CapabilitySet('test.env', new Map([['emit', {}]])),
  providers: {},
  kv: undefined,
  async: false,
  now: () => 7,
  random: (n) => new Uint8Array(n),
  log: () => undefined,
  panic: () => undefined,
  emit: () => undefined,
  call: () => new Uint8Array(0),
};

/** Call host function `name` with `request` and decode what the guest would read back. */
function answer(name: keyof ReturnType<typeof hostFunctions>, request: CborValue, overrides: Partial<HostEnv> = {}): unknown {
  const ctx = new ProxyContext([[1n, encodeCbor(request)]]);
  const handle = hostFunctions({ ...env, ...overrides })[name](ctx as unknown as CallContext, 1n) as bigint;
  return decodeCbor(ctx.read(handle)!.bytes());
}

describe('host function answers', () => {
  it('log, panic and emit answer {ok: null} whatever the listeners return', () => {
    // An EventEmitter's emit returns whether anyone listened: that must not leak to the guest.
    const listened = () => true as never;
    expect(answer('log', { level: 'info', msg: 'hi' }, { log: listened })).toEqual({ ok: null });
    expect(answer('panic', { message: 'm', file: 'f', line: 1, column: 2 }, { panic: listened })).toEqual({ ok: null });
    expect(answer('emit', { topic: 'caps.x', data: 1 }, { emit: listened })).toEqual({ ok: null });
  });

  it('answers {err: {code, message}} for a request that is not a map, and EPERM without the capability', () => {
    expect(answer('log', [1, 2])).toEqual({ err: { code: 'EINPUT', message: 'request: expected a CBOR map' } });
    expect(answer('kv_get', { key: 'k' })).toMatchObject({ err: { code: 'EPERM' } });
  });

  it('refuses call in the inline tier before it reaches the kernel', () => {
    let reached = false;
    const caps = new CapabilitySet('test.env', new Map([['call', {}]]));
    const out = answer('call', { target: 't.x', export: 'go', input: new Uint8Array(0) }, { caps, call: () => ((reached = true), new Uint8Array(0)) });
    expect(out).toMatchObject({ err: { code: 'EUNAVAILABLE' } });
    expect(reached).toBe(false);
  });
});

describe('kv keys must be well-formed UTF-8', () => {
  /** A kv_put request `{key: <text of raw bytes>, value: h'00'}`, encoded by hand (map keys in canonical order). */
  function putRequest(keyBytes: number[]): Uint8Array {
    return Uint8Array.from([0xa2, 0x63, ...Buffer.from('key'), 0x60 + keyBytes.length, ...keyBytes, 0x65, ...Buffer.from('value'), 0x41, 0x00]);
  }
  const stored: string[] = [];
  const kv = {
    get: () => undefined,
    put: (_ns: string, k: string) => void stored.push(k),
    delete: () => false,
    scan: () => [],
  };
  const caps = new CapabilitySet('test.env', new Map([['kv', {}]]));
  const put = (bytes: Uint8Array) => {
    const ctx = new ProxyContext([[1n, bytes]]);
    const handle = hostFunctions({ ...env, caps, kv })['kv_put'](ctx as unknown as CallContext, 1n) as bigint;
    return decodeCbor(ctx.read(handle)!.bytes());
  };

  it('refuses invalid UTF-8 (a lone surrogate, a stray continuation byte) with EINPUT instead of storing U+FFFD', () => {
    stored.length = 0;
    // 'sur' + ED A0 80 (the UTF-8 form of the lone surrogate U+D800, which UTF-8 forbids)
    expect(put(putRequest([0x73, 0x75, 0x72, 0xed, 0xa0, 0x80]))).toMatchObject({ err: { code: 'EINPUT', message: expect.stringContaining('UTF-8') } });
    expect(put(putRequest([0x73, 0x75, 0x72, 0x80]))).toMatchObject({ err: { code: 'EINPUT' } });
    expect(stored).toEqual([]);
  });

  it('accepts U+FFFD itself, written as valid UTF-8, as an ordinary key', () => {
    stored.length = 0;
    expect(put(putRequest([0x73, 0x75, 0x72, 0xef, 0xbf, 0xbd]))).toEqual({ ok: null });
    expect(put(putRequest([0x6b, 0xc3, 0xa9]))).toEqual({ ok: null });
    expect(stored).toEqual(['sur\uFFFD', 'k\u00e9']);
  });
});
