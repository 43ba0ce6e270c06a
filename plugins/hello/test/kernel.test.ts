// mcp0.hello through the real kernel: signed, loaded under its grants, called in both tiers, and
// deterministic inside an operation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '@mcp0/abi';
import { Kernel, type Tier } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { signed, trusted } from '../../../test/fixtures.js';

const GRANTS = [{ name: 'kv' as const }, { name: 'clock' as const }, { name: 'random' as const }];

describe.each<Tier>(['inline', 'worker'])('mcp0.hello in the %s tier', (tier) => {
  let kernel: Kernel;
  const kv = new MemoryStore().kv;

  beforeAll(async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv } });
    await kernel.load(await signed('hello'), { isolation: tier, grants: GRANTS });
  });
  afterAll(() => kernel.stop());

  it('echoes bytes untouched, including empty and non-CBOR input', async () => {
    for (const input of [new Uint8Array(0), new Uint8Array([0xff, 0x00, 0x1f]), new Uint8Array(70_000).fill(7)]) {
      expect(await kernel.call('mcp0.hello', 'echo', input)).toEqual(input);
    }
  });

  it('greets in UTF-8', async () => {
    expect(await kernel.callValue('mcp0.hello', 'greet', { name: 'Zoë 🌍' })).toBe('hello, Zoë 🌍');
  });

  it('counts through kv, under its granted prefix', async () => {
    expect(await kernel.callValue('mcp0.hello', 'count', { key: 'k' })).toEqual({ key: 'k', value: 1 });
    expect(await kernel.callValue('mcp0.hello', 'count', { key: 'k', by: 41 })).toEqual({ key: 'k', value: 42 });
    expect(decodeCbor(kv.get('mcp0.hello', 'hello/k')!)).toBe(42);
  });

  it('rejects malformed input with EINPUT and keeps serving', async () => {
    await expect(kernel.call('mcp0.hello', 'count', new Uint8Array([0xa1]))).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(kernel.callValue('mcp0.hello', 'count', { key: 7 })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(kernel.callValue('mcp0.hello', 'greet', { name: 'ok' })).resolves.toBe('hello, ok');
  });

  it('is deterministic inside an operation: same op id and time, same clock and random', async () => {
    const run = (id: string) => kernel.execute({ agent: 'mcp0.hello', intent: 'stamp', input: encodeCbor({}), id, time: 1_700_000_000_000 });
    const a = await run('op-1');
    const b = await run('op-1');
    const c = await run('op-2');
    expect(a.output).toEqual(b.output);
    expect(decodeCbor(a.output)).toMatchObject({ time: 1_700_000_000_000 });
    expect((decodeCbor(c.output) as { nonce: Uint8Array }).nonce).not.toEqual((decodeCbor(a.output) as { nonce: Uint8Array }).nonce);
  });

  it('uses the real clock and fresh randomness outside an operation', async () => {
    const before = Date.now();
    const x = decodeCbor(await kernel.call('mcp0.hello', 'stamp', encodeCbor({}))) as { time: number; nonce: Uint8Array };
    const y = decodeCbor(await kernel.call('mcp0.hello', 'stamp', encodeCbor({}))) as { time: number; nonce: Uint8Array };
    expect(x.time).toBeGreaterThanOrEqual(before);
    expect(x.nonce).not.toEqual(y.nonce);
  });
});
