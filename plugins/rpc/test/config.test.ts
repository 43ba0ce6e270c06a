/**
 * The plugin's config, read in mcp0_init: the defaults of abi/ROLES.md, and every config it cannot
 * read failing the load with EINPUT naming the member (so a typo never loads as "no limit").
 */
import { describe, expect, it } from 'vitest';
import type { CborValue } from '@mcp0/abi';
import { consumer, envelope, loadError, makeRpc, operator, refusal, request, T0, verify } from './helpers.js';

describe('config', () => {
  it('defaults to the role’s values: no operator, a 300 s window, 30 s skew, 300 s deadlines, 50 a second with bursts of 100', async () => {
    expect(await loadError({})).toBeNull();
    const rpc = await makeRpc({ config: {} });
    expect((await verify(rpc, request(envelope({ time: T0 + 30_000 })))).tokens).toBe(99);
    expect((await refusal(rpc, request(envelope({ time: T0 + 30_001 })))).message).toMatch(/expected at most skewMs \(30000\) ahead$/);
    expect((await refusal(rpc, request(envelope({ time: T0 - 300_001 })))).message).toMatch(/expected at most replayWindowMs \(300000\) before$/);
    expect((await refusal(rpc, request(envelope({ deadline: T0 + 300_001 })))).message).toMatch(/expected at most maxDeadlineMs \(300000\)$/);
    const node = await refusal(rpc, request(envelope({ key: operator, target: '' }), null));
    expect(node.message).toMatch(/^not-authorised: .*config\.operators of mcp0\.rpc: \[\]\)$/);
    for (let i = 0; i < 99; i++) await verify(rpc, request(envelope()));
    const limited = await refusal(rpc, request(envelope()));
    expect(limited.details.retryAfterMs).toBe(20); // 1,000 milli-tokens at 50 a millisecond
    await rpc.kernel.stop();
  });

  it('reads every member', async () => {
    const config = {
      operators: [operator.kid, consumer.kid],
      replayWindowMs: 10_000,
      skewMs: 0,
      maxDeadlineMs: 1_000,
      rate: { perSecond: 1, burst: 1 },
      methods: { remember: { perSecond: 2, burst: 3 } },
    };
    const rpc = await makeRpc({ config });
    expect((await refusal(rpc, request(envelope({ time: T0 + 1 })))).message).toMatch(/^future: /);
    expect((await refusal(rpc, request(envelope({ deadline: T0 + 1_001 })))).code).toBe('EINPUT');
    expect((await verify(rpc, request(envelope({ deadline: T0 + 1_000 })))).tokens).toBe(2);
    expect((await verify(rpc, request(envelope({ key: consumer, target: '', method: 'x', deadline: T0 + 1_000 }), null))).tokens).toBe(0);
    rpc.clock.now = T0 + 10_001;
    expect((await refusal(rpc, request(envelope({ time: T0, deadline: T0 + 1_000 })))).message).toMatch(/^stale: /);
    await rpc.kernel.stop();
  });

  it('refuses a config it cannot read, naming the member', async () => {
    const cases: [unknown, string][] = [
      [
        { operator: [operator.kid] },
        'mcp0.rpc config: expected only the members operators, replayWindowMs, skewMs, maxDeadlineMs, rate, methods, got "operator"',
      ],
      [[], 'mcp0.rpc config: expected a map, got array'],
      [{ operators: operator.kid }, 'mcp0.rpc config.operators: expected a list of key ids, got text'],
      [
        { operators: ['acme.node'] },
        'mcp0.rpc config.operators/0: expected a key id (the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters), got "acme.node"',
      ],
      [
        { operators: [operator.kid, '$assembler'] },
        'config.operators/1: expected a key id (the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters), got "$assembler" (a placeholder that only mcp0 dist build replaces)',
      ],
      [{ operators: Array(65).fill(operator.kid) }, 'mcp0.rpc config.operators: expected at most 64 key ids, got 65'],
      [{ replayWindowMs: 0 }, 'mcp0.rpc config.replayWindowMs: expected an integer from 1 to 86400000, got 0'],
      [{ replayWindowMs: 1.5 }, 'mcp0.rpc config.replayWindowMs: expected an integer from 1 to 86400000, got 1.5'],
      [{ skewMs: -1 }, 'mcp0.rpc config.skewMs: expected an integer from 0 to 86400000, got -1'],
      [{ maxDeadlineMs: '300000' }, 'mcp0.rpc config.maxDeadlineMs: expected an integer from 1 to 86400000, got "300000"'],
      [{ rate: 50 }, 'mcp0.rpc config.rate: expected {perSecond, burst}, got uint'],
      [{ rate: { perSecond: 50 } }, 'mcp0.rpc config.rate.burst: is missing, expected an integer from 1 to 1000000'],
      [{ rate: { perSecond: 0, burst: 1 } }, 'mcp0.rpc config.rate.perSecond: expected an integer from 1 to 1000000, got 0'],
      [{ rate: { perSecond: 1, burst: 1, refill: 2 } }, 'mcp0.rpc config.rate: expected only the members perSecond, burst, got "refill"'],
      [{ methods: [] }, 'mcp0.rpc config.methods: expected a map of method name to {perSecond, burst}, got array'],
      [
        { methods: { remember: { perSecond: 1, burst: 1_000_001 } } },
        'mcp0.rpc config.methods."remember".burst: expected an integer from 1 to 1000000, got 1000001',
      ],
      [
        { methods: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`m${i}`, { perSecond: 1, burst: 1 }])) },
        'mcp0.rpc config.methods: expected at most 256 methods, got 257',
      ],
    ];
    for (const [config, message] of cases) {
      const e = await loadError(config as CborValue); // hostile configs: the plugin must refuse them
      expect(e, message).toMatchObject({ code: 'EINPUT' });
      expect(e!.message, message).toContain(message);
    }
  });
});
