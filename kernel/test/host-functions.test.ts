// Each host capability driven by a real guest: call (module → module through the kernel), crypto,
// log and emit, kv scan and delete, and a capability with no provider.
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, ed25519Sign, encodeCbor, generateKeyPair } from '@mcp0/abi';
import { Kernel, type GuestLog } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { TestKv } from './memory-kv.js';

describe('host functions through a guest (worker tier, so calls can wait)', () => {
  let kernel: Kernel;
  const logs: GuestLog[] = [];
  const emitted: { module: string; topic: string; data: unknown }[] = [];
  const grants = [{ name: 'call' as const }, { name: 'crypto' as const }, { name: 'emit' as const }, { name: 'kv' as const }];

  beforeAll(async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    kernel.on('log', (l) => logs.push(l));
    kernel.on('emit', (e) => emitted.push(e));
    await kernel.load(await signed('hostile'), { isolation: 'worker' });
    await kernel.load(await signed('caps'), { isolation: 'worker', grants });
  });
  afterAll(() => kernel.stop());

  it('calls another module through the kernel, metered on both sides', async () => {
    const before = kernel.metrics()['test.hostile']!.calls;
    const out = await kernel.call('test.caps', 'relay', encodeCbor({ target: 'test.hostile', export: 'ok', input: new Uint8Array([4, 5]) }));
    expect(out).toEqual(new Uint8Array([4, 5])); // relay outputs the callee's bytes as they are
    expect(kernel.metrics()['test.hostile']!.calls).toBe(before + 1);
  });

  it("passes the callee's typed error back to the caller", async () => {
    await expect(kernel.callValue('test.caps', 'relay', { target: 'test.hostile', export: 'trap', input: new Uint8Array(0) })).rejects.toMatchObject({
      code: 'ETRAP',
    });
    // The callee recovered; the caller was never at fault.
    expect(await kernel.call('test.caps', 'relay', encodeCbor({ target: 'test.hostile', export: 'ok', input: new Uint8Array([1]) }))).toEqual(
      new Uint8Array([1]),
    );
  });

  it('refuses call targets outside the grant, and unknown modules', async () => {
    await expect(kernel.callValue('test.caps', 'relay', { target: 'test.hostile', export: 'loop', input: new Uint8Array(0) })).rejects.toMatchObject({
      code: 'EPERM',
    });
    await expect(kernel.callValue('test.caps', 'relay', { target: 'test.caps', export: 'nope', input: new Uint8Array(0) })).rejects.toMatchObject({
      code: 'EBUSY',
    });
  });

  it('hashes with SHA-256', async () => {
    const data = new TextEncoder().encode('abc');
    expect(await kernel.callValue('test.caps', 'digest', { data })).toEqual(sha256(data));
  });

  it('verifies Ed25519 signatures, and says false to a bad one or a malformed key', async () => {
    const key = generateKeyPair();
    const msg = new TextEncoder().encode('agreement');
    const sig = ed25519Sign(msg, key.seed);
    expect(await kernel.callValue('test.caps', 'check', { key: key.publicKey.bytes, msg, sig })).toBe(true);
    const bad = sig.slice();
    bad[0]! ^= 1;
    expect(await kernel.callValue('test.caps', 'check', { key: key.publicKey.bytes, msg, sig: bad })).toBe(false);
    expect(await kernel.callValue('test.caps', 'check', { key: new Uint8Array(3), msg, sig })).toBe(false);
  });

  it('logs and emits under granted topics only', async () => {
    expect(await kernel.callValue('test.caps', 'announce', { topic: 'caps.news', msg: 'hi' })).toBeNull();
    expect(logs).toContainEqual({ module: 'test.caps', level: 'info', msg: 'announcing hi' });
    expect(emitted).toContainEqual({ module: 'test.caps', topic: 'caps.news', data: { msg: 'hi' } });
    await expect(kernel.callValue('test.caps', 'announce', { topic: 'other', msg: 'x' })).rejects.toMatchObject({ code: 'EPERM' });
  });

  it('puts, deletes and scans kv in key order, page by page', async () => {
    expect(await kernel.callValue('test.caps', 'keys', { n: 5 })).toEqual(['caps/1', 'caps/2', 'caps/3', 'caps/4']);
  });

  it('answers EPERM for an optional capability that was not granted', async () => {
    expect(decodeCbor(await kernel.call('test.caps', 'block', new Uint8Array([0xa0])))).toBe('EPERM');
  });
});

describe('host functions with no provider, and the inline tier', () => {
  it('answers EUNAVAILABLE for a granted capability that no provider serves', async () => {
    const kernel = new Kernel({ trust: [trusted] });
    await kernel.load(await signed('caps'), { grants: [{ name: 'call' }, { name: 'crypto' }, { name: 'emit' }, { name: 'kv' }, { name: 'blocks' }] });
    expect(await kernel.callValue('test.caps', 'block', {})).toBe('EUNAVAILABLE');
    await expect(kernel.callValue('test.caps', 'keys', { n: 1 })).rejects.toMatchObject({ code: 'EUNAVAILABLE' });
    // Synchronous capabilities work inline; `call` cannot wait there and says so.
    expect(await kernel.callValue('test.caps', 'digest', { data: new Uint8Array(0) })).toEqual(sha256(new Uint8Array(0)));
    await expect(kernel.callValue('test.caps', 'relay', { target: 'test.caps', export: 'digest', input: new Uint8Array(0) })).rejects.toMatchObject({
      code: 'EUNAVAILABLE',
    });
    await kernel.stop();
  });
});
