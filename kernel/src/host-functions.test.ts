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
