/**
 * The plugin's bounds (README.md "Limits"): the bucket table holds at most 4,096 buckets in use and
 * refuses a new (caller, method) beyond them with the exact wait until one is full again, and the
 * largest payload the kernel's 4 MiB input cap lets through verifies within the memory limit.
 */
import { describe, expect, it } from 'vitest';
import { consumer, envelope, makeRpc, operator, PAYLOAD, refusal, request, T0, verify } from './helpers.js';

describe('limits', () => {
  it('keeps at most 4,096 buckets in use; a new one past them waits until one is full again', async () => {
    const rpc = await makeRpc({ config: { operators: [operator.kid], rate: { perSecond: 1, burst: 1 } } });
    for (let i = 0; i < 4096; i++) expect((await verify(rpc, request(envelope({ method: `m${i}` })))).tokens).toBe(0);
    const full = await refusal(rpc, request(envelope({ method: 'one-more' })));
    expect(full.code).toBe('EDENIED');
    expect(full.details.retryAfterMs).toBe(1_000);
    expect(full.message).toMatch(/^rate-limited: this node is rate-limiting as many callers and methods as it keeps buckets for/);
    rpc.clock.now = T0 + 999;
    expect((await refusal(rpc, request(envelope({ method: 'one-more', time: T0 + 999 })))).details.retryAfterMs).toBe(1);
    // Full buckets are the same as none: dropped, they make room, and a known method's refilled bucket serves it.
    rpc.clock.now = T0 + 1_000;
    expect((await verify(rpc, request(envelope({ method: 'one-more', time: T0 + 1_000 })))).tokens).toBe(0);
    expect((await verify(rpc, request(envelope({ method: 'm0', time: T0 + 1_000 })))).tokens).toBe(0);
    await rpc.kernel.stop();
  }, 120_000);

  it('verifies the largest payload the kernel lets through', async () => {
    const rpc = await makeRpc();
    // 4 MiB of input, less the envelope and the request's CBOR.
    const payload = new Uint8Array(4 * 1024 * 1024 - 1024).fill(7);
    expect((await verify(rpc, request(envelope({ payload }), consumer.kid, payload))).tokens).toBe(99);
    expect((await verify(rpc, request(envelope()))).tokens).toBe(98);
    expect(PAYLOAD.length).toBeLessThan(payload.length);
    await rpc.kernel.stop();
  }, 60_000);
});
