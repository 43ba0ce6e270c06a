/**
 * verify's last check through the real kernel: integer token buckets per (caller, method), exact
 * at each boundary (burst N: N pass, the next is refused with the exact wait, and one token is
 * back after exactly that wait), per-method rates, the EDENIED error's details.retryAfterMs in both
 * isolation tiers, and a restart refilling the buckets (they are kept in memory).
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '@mcp0/sdk';
import { consumer, envelope, makeRpc, operator, refusal, request, stranger, T0, verify, type Rpc } from './helpers.js';

/** A fresh envelope (new nonce) signed now by the consumer, for `method` of agent notes, or of `target` with `key`. */
function call(rpc: Rpc, method = 'remember', key = consumer, target = 'notes') {
  return request(envelope({ key, method, target, time: rpc.clock.now }), target === '' ? null : key.kid);
}

describe('verify: rate', () => {
  for (const isolation of ['inline', 'worker'] as const) {
    it(`burst N: N calls pass, the next waits exactly, one token is back after the wait (${isolation})`, async () => {
      // 3 tokens a second: a token every 333⅓ ms, so the wait rounds up to 334.
      const rpc = await makeRpc({ isolation, config: { operators: [operator.kid], rate: { perSecond: 3, burst: 4 } } });
      const tokens: number[] = [];
      for (let i = 0; i < 4; i++) tokens.push((await verify(rpc, call(rpc))).tokens);
      expect(tokens).toEqual([3, 2, 1, 0]);
      const e = await refusal(rpc, call(rpc));
      expect(e.code).toBe('EDENIED');
      expect(e.details.retryAfterMs).toBe(334);
      expect(e.message).toBe(`rate-limited: ${consumer.kid} has no token left for "remember" (3 a second, burst 4); expected one in 334 ms`);
      rpc.clock.now = T0 + 333; // 999 of the 1,000 milli-tokens a call takes
      expect((await refusal(rpc, call(rpc))).details.retryAfterMs).toBe(1);
      rpc.clock.now = T0 + 334;
      expect((await verify(rpc, call(rpc))).tokens).toBe(0);
      expect((await refusal(rpc, call(rpc))).details.retryAfterMs).toBe(333); // 2 milli-tokens were over
      // Long idle: full again, never past burst.
      rpc.clock.now = T0 + 3_600_000;
      expect((await verify(rpc, call(rpc))).tokens).toBe(3);
      await rpc.kernel.stop();
    }, 60_000);
  }

  it('keeps one bucket per caller and method, with the rate of config.methods where it names the method', async () => {
    const rpc = await makeRpc({ config: { operators: [operator.kid], rate: { perSecond: 1, burst: 2 }, methods: { forget: { perSecond: 1, burst: 1 } } } });
    expect((await verify(rpc, call(rpc, 'forget'))).tokens).toBe(0);
    const e = await refusal(rpc, call(rpc, 'forget'));
    expect(e.details.retryAfterMs).toBe(1_000);
    expect(e.message).toContain('has no token left for "forget" (1 a second, burst 1)');
    // Another method of the same caller, and the same method of another caller: their own buckets.
    expect((await verify(rpc, call(rpc, 'remember'))).tokens).toBe(1);
    expect((await verify(rpc, call(rpc, 'forget', stranger, 'todo'))).tokens).toBe(0);
    expect((await verify(rpc, call(rpc, 'mcp0.v1.Node/ListAgents', operator, ''))).tokens).toBe(1);
    // A method whose name is long is keyed by its hash: still one bucket per name.
    const long = 'm'.repeat(200);
    expect((await verify(rpc, call(rpc, long))).tokens).toBe(1);
    expect((await verify(rpc, call(rpc, `${long}x`))).tokens).toBe(1);
    expect((await verify(rpc, call(rpc, long))).tokens).toBe(0);
    await rpc.kernel.stop();
  });

  it('starts every bucket full after a restart (buckets are in memory; nonces are in kv)', async () => {
    const store = new MemoryStore();
    const config = { operators: [operator.kid], rate: { perSecond: 1, burst: 1 } };
    const rpc = await makeRpc({ kv: store.kv, config });
    await verify(rpc, call(rpc));
    expect((await refusal(rpc, call(rpc))).code).toBe('EDENIED');
    await rpc.kernel.stop();
    const again = await makeRpc({ kv: store.kv, config });
    expect((await verify(again, call(again))).tokens).toBe(0);
    await again.kernel.stop();
  });
});
