/**
 * verify's checks 3 to 5 through the real kernel: time against the node's clock (exact at each
 * bound), replay (also across a reload of the plugin over the same kv, and the pruning of expired
 * nonces), and authority (operators for the node's methods, the agreement's consumer for an
 * agent's). Every answer is checked against the role's contract.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '@mcp0/sdk';
import { consumer, envelope, makeRpc, NAME, operator, refusal, request, stranger, T0, verify } from './helpers.js';

const WINDOW = 300_000;
const SKEW = 30_000;

/** A time as the pruning index writes it: 16 digits, so key order is time order. */
const pad = (t: number) => String(t).padStart(16, '0');

/** The plugin's kv keys, in order. */
function keys(store: MemoryStore): string[] {
  return store.kv.scan(NAME, '', 10_000).map(([k]) => k);
}

describe('verify: time', () => {
  it('accepts envelopes up to skewMs ahead and replayWindowMs behind the clock, and refuses past them', async () => {
    // A deadline may reach past the window here, so an envelope at the window's edge is still in time.
    const rpc = await makeRpc({ config: { operators: [operator.kid], maxDeadlineMs: 2 * WINDOW } });
    expect(await verify(rpc, request(envelope({ time: T0 + SKEW })))).toMatchObject({ caller: consumer.kid });
    const future = await refusal(rpc, request(envelope({ time: T0 + SKEW + 1 })));
    expect(future.code).toBe('EPERM');
    expect(future.message).toBe(
      `future: the envelope was signed at ${T0 + SKEW + 1}, ${SKEW + 1} ms ahead of this node's clock (${T0}); expected at most skewMs (${SKEW}) ahead`,
    );
    rpc.clock.now = T0 + WINDOW;
    expect(await verify(rpc, request(envelope({ time: T0, deadline: T0 + WINDOW + 1 })))).toMatchObject({ deadline: T0 + WINDOW + 1 });
    rpc.clock.now = T0 + WINDOW + 1;
    const stale = await refusal(rpc, request(envelope({ time: T0, deadline: T0 + WINDOW + 2 })));
    expect(stale.code).toBe('EPERM');
    expect(stale.message).toBe(
      `stale: the envelope was signed at ${T0}, ${WINDOW + 1} ms before this node's clock (${T0 + WINDOW + 1}); expected at most replayWindowMs (${WINDOW}) before`,
    );
    await rpc.kernel.stop();
  });

  it('refuses a deadline that has passed (ETIMEOUT) and one too far after the signing time (EINPUT)', async () => {
    const rpc = await makeRpc();
    rpc.clock.now = T0 + 1_000;
    const passed = await refusal(rpc, request(envelope({ deadline: T0 + 1_000 })));
    expect(passed.code).toBe('ETIMEOUT');
    expect(passed.message).toContain(`the deadline ${T0 + 1_000} has passed: expected a time after now (${T0 + 1_000})`);
    expect(await verify(rpc, request(envelope({ deadline: T0 + 1_001 })))).toMatchObject({ deadline: T0 + 1_001 });
    expect(await verify(rpc, request(envelope({ deadline: T0 + 300_000 })))).toMatchObject({ deadline: T0 + 300_000 });
    const far = await refusal(rpc, request(envelope({ deadline: T0 + 300_001 })));
    expect(far.code).toBe('EINPUT');
    expect(far.message).toBe('rpc envelope: "deadline" is 300001 ms after "time"; expected at most maxDeadlineMs (300000)');
    await rpc.kernel.stop();
  });
});

describe('verify: replay', () => {
  it('refuses a nonce seen within the window, also after the plugin is reloaded over the same kv', async () => {
    const store = new MemoryStore();
    const rpc = await makeRpc({ kv: store.kv });
    const nonce = Uint8Array.from({ length: 16 }, (_, i) => i + 100);
    const bytes = envelope({ nonce });
    expect(await verify(rpc, request(bytes))).toMatchObject({ tokens: 99 });
    const again = await refusal(rpc, request(bytes));
    expect(again.code).toBe('EPERM');
    expect(again.message).toBe(
      `replay: the nonce ${Buffer.from(nonce).toString('hex')} of ${consumer.kid} was already used, by an envelope signed at ${T0}; expected a nonce not seen in the last replayWindowMs (${WINDOW})`,
    );
    // The same nonce under another time (only its signer could make it) is the same pair: refused.
    expect((await refusal(rpc, request(envelope({ nonce, time: T0 + 1 })))).message).toMatch(/^replay: /);
    // Another caller's identical nonce is another pair.
    expect(await verify(rpc, request(envelope({ nonce, key: operator, target: '' })))).toMatchObject({ caller: operator.kid });
    expect(keys(store)).toEqual(
      [
        `rpc/n/${consumer.kid}/${Buffer.from(nonce).toString('hex')}`,
        `rpc/n/${operator.kid}/${Buffer.from(nonce).toString('hex')}`,
        `rpc/t/${pad(T0)}/${consumer.kid}/${Buffer.from(nonce).toString('hex')}`,
        `rpc/t/${pad(T0)}/${operator.kid}/${Buffer.from(nonce).toString('hex')}`,
      ].sort(),
    );
    await rpc.kernel.stop();

    // A new instance over the same kv: the window is not reopened by a restart.
    const reloaded = await makeRpc({ kv: store.kv });
    reloaded.clock.now = T0 + 4_000;
    expect((await refusal(reloaded, request(bytes))).message).toMatch(/^replay: /);
    await reloaded.kernel.stop();
  });

  it('writes nothing for a call it refuses before authority, and spends the nonce of a rate-limited one', async () => {
    const store = new MemoryStore();
    const rpc = await makeRpc({ kv: store.kv, config: { operators: [operator.kid], rate: { perSecond: 1, burst: 1 } } });
    expect((await refusal(rpc, request(envelope({ key: stranger }), consumer.kid))).message).toMatch(/^not-authorised: /);
    expect((await refusal(rpc, request(envelope({ time: T0 - WINDOW - 1 })))).message).toMatch(/^stale: /);
    expect(keys(store)).toEqual([]);
    await verify(rpc, request(envelope()));
    const limited = envelope();
    expect((await refusal(rpc, request(limited))).code).toBe('EDENIED');
    rpc.clock.now = T0 + 1_000;
    expect((await refusal(rpc, request(limited))).message).toMatch(/^replay: /);
    await rpc.kernel.stop();
  });

  it('prunes nonces whose window has passed, a few per recorded call, oldest first', async () => {
    const store = new MemoryStore();
    const rpc = await makeRpc({ kv: store.kv, config: { operators: [operator.kid], replayWindowMs: 1_000, rate: { perSecond: 1_000, burst: 1_000 } } });
    for (let i = 0; i < 20; i++) await verify(rpc, request(envelope({ time: T0 + i })));
    expect(keys(store)).toHaveLength(40);
    // At T0 + 2,000 all 20 are expired (signed at T0 + 0..19, window 1,000 ms): each recorded call removes up to 8, oldest first.
    rpc.clock.now = T0 + 2_000;
    await verify(rpc, request(envelope({ time: T0 + 2_000 })));
    expect(keys(store)).toHaveLength(40 - 2 * 8 + 2);
    await verify(rpc, request(envelope({ time: T0 + 2_000 })));
    await verify(rpc, request(envelope({ time: T0 + 2_000 })));
    // All 20 old ones gone; the three new ones stay, still in their window.
    expect(keys(store).filter((k) => k.startsWith('rpc/t/'))).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^rpc/t/${pad(T0 + 2_000)}/`))]),
    );
    expect(keys(store)).toHaveLength(6);
    await rpc.kernel.stop();
  });
});

describe('verify: authority', () => {
  it('admits the node’s methods for an operator only', async () => {
    const rpc = await makeRpc();
    const node = (key = operator) => envelope({ key, target: '', method: 'mcp0.v1.Node/ListAgents' });
    expect(await verify(rpc, request(node(), null))).toMatchObject({ caller: operator.kid, target: '', method: 'mcp0.v1.Node/ListAgents' });
    // The consumer of an agreement is no operator, whatever consumer the host passes.
    const e = await refusal(rpc, request(node(consumer), consumer.kid));
    expect(e.code).toBe('EPERM');
    expect(e.message).toBe(
      `not-authorised: ${consumer.kid} called the node's method "mcp0.v1.Node/ListAgents"; expected an operator key (config.operators of mcp0.rpc: [${operator.kid}])`,
    );
    await rpc.kernel.stop();
  });

  it('admits an agent’s call for the consumer of its agreement only', async () => {
    const rpc = await makeRpc();
    expect(await verify(rpc, request(envelope(), consumer.kid))).toMatchObject({ caller: consumer.kid, target: 'notes' });
    const other = await refusal(rpc, request(envelope({ key: stranger }), consumer.kid));
    expect(other.code).toBe('EPERM');
    expect(other.message).toBe(`not-authorised: ${stranger.kid} called the agent "notes"; expected the consumer of its agreement, ${consumer.kid}`);
    // The operator runs the node, not its agents' agreements.
    expect((await refusal(rpc, request(envelope({ key: operator }), consumer.kid))).message).toMatch(/^not-authorised: /);
    const unbound = await refusal(rpc, request(envelope(), null));
    expect(unbound.code).toBe('EPERM');
    expect(unbound.message).toBe(
      `not-authorised: ${consumer.kid} called the agent "notes", which is bound to no agreement; expected the consumer of its agreement`,
    );
    await rpc.kernel.stop();
  });
});
