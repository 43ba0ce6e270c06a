// AgentStateKv against the real storage plugin (issue 13): an operation reads the version it began
// at and commits only on it (ECONFLICT otherwise, nothing written), a version with the same tree
// is no conflict, writes are bounded at kv_put time by what one apply can carry, and the edges of
// scan and of keys that are not well-formed Unicode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGrant } from '@mcp0/abi';
import { AgentStateKv } from '../../src/node/agent-state.js';
import { Kernel } from '@mcp0/kernel';
import { MemoryStore, OPERATION_WRITE_BUDGET, roleClient } from '@mcp0/sdk';
import { signed, trusted } from '../../../test/fixtures.js';
import { rejection } from '../rejection.js';

const te = new TextEncoder();
const td = new TextDecoder();
let store: MemoryStore;
let kernel: Kernel;
let state: AgentStateKv;
const call = (exp: string, value: Parameters<Kernel['callValue']>[2]) => kernel.callValue('mcp0.storage', exp, value);

beforeAll(async () => {
  store = new MemoryStore();
  kernel = new Kernel({ trust: [trusted], providers: { blocks: store.blocks } });
  await kernel.load(await signed('storage'), { grants: [parseGrant('blocks'), parseGrant('random')], isolation: 'inline' });
  state = new AgentStateKv(roleClient('storage', call));
});
afterAll(async () => {
  await kernel.stop();
  await store.close();
});

const text = async (agent: string, key: string) => {
  const v = await state.get(agent, key);
  return v === undefined ? undefined : td.decode(v);
};

describe('an operation reads the version it began at and commits only on it', () => {
  it('reads at its root while another writer moves the head, then refuses to commit (ECONFLICT): nothing is written', async () => {
    await state.put('a1', 'n', te.encode('1'));
    const head = await state.begin('a1');
    expect(head.version).toBe(1);
    // Another writer (another process, a direct call) advances the agent.
    await call('put', { agent: 'a1', key: 'n', value: te.encode('5') });
    expect(await text('a1', 'n')).toBe('1'); // the operation still sees what it began with
    expect((await state.scan('a1', '', 10)).map(([k, v]) => [k, td.decode(v)])).toEqual([['n', '1']]);
    await state.put('a1', 'n', te.encode('2')); // "increment" what it read
    const e = await rejection(() => state.commit('a1'));
    expect(e).toMatchObject({ code: 'ECONFLICT', details: { agent: 'a1', expected: 1, found: 2 } });
    expect(e.message).toMatch(/its state changed since the operation began .*not applied/);
    // The other writer's value stands: no lost update.
    expect(await text('a1', 'n')).toBe('5');
  });

  it('commits at the new version when the head moved without changing the tree (gc retention)', async () => {
    await state.put('a2', 'n', te.encode('1'));
    await state.put('a2', 'm', te.encode('x'));
    await state.begin('a2');
    // gc with keep rewrites the kept commits and moves the head: a new version, the same tree.
    await call('gc', { agent: 'a2', keep: 1 });
    const moved = (await call('snapshot', { agent: 'a2' })) as { version: number };
    expect(moved.version).toBe(3);
    await state.put('a2', 'n', te.encode('2'));
    expect(await state.commit('a2')).toBeInstanceOf(Uint8Array);
    expect(await text('a2', 'n')).toBe('2');
    expect(((await call('snapshot', { agent: 'a2' })) as { version: number }).version).toBe(4);
  });

  it('a read-only operation commits nothing, whatever the head did', async () => {
    await state.begin('a3');
    await call('put', { agent: 'a3', key: 'k', value: te.encode('v') });
    expect(await state.get('a3', 'k')).toBeUndefined(); // it began with an empty agent
    expect(await state.commit('a3')).toBeNull();
  });

  it('a second begin while one is open is EBUSY', async () => {
    await state.begin('a4');
    await expect(state.begin('a4')).rejects.toMatchObject({ code: 'EBUSY' });
    state.discard('a4');
  });
});

describe('the per-operation write budget (issue 13, defect 8)', () => {
  it('refuses the kv_put that would pass it with ETOOBIG naming the budget and what the operation holds; the rest commits', async () => {
    const mib = new Uint8Array(1 << 20).fill(7);
    await state.begin('big');
    for (const k of ['v1', 'v2', 'v3']) await state.put('big', k, mib);
    const e = await rejection(() => state.put('big', 'v4', mib));
    expect(e.code).toBe('ETOOBIG');
    expect(e.message).toContain(`at most ${OPERATION_WRITE_BUDGET.bytes} bytes`);
    expect(e.message).toContain(`it already holds ${3 * ((1 << 20) + 2 + 16)} bytes in 3 keys`);
    expect(e.details).toMatchObject({ budget: OPERATION_WRITE_BUDGET.bytes, held: 3 * ((1 << 20) + 2 + 16), heldKeys: 3 });
    // Rewriting a key it holds costs only the difference; a small write still fits.
    await state.put('big', 'v3', new Uint8Array(10));
    await state.put('big', 'v4', mib);
    await state.put('big', 'small', te.encode('s'));
    // What was accepted can be committed: the apply fits the plugin's input cap.
    expect(await state.commit('big')).toBeInstanceOf(Uint8Array);
    expect((await state.get('big', 'v4'))?.length).toBe(1 << 20);
    expect((await state.get('big', 'v3'))?.length).toBe(10);
  });

  it('counts deletes too', async () => {
    await state.begin('dels');
    const long = 'k'.repeat(1000);
    let n = 0;
    const e = await rejection(async () => {
      for (; ; n++) await state.delete('dels', `${long}${n}`);
    });
    expect(e.code).toBe('ETOOBIG');
    // About budget / (1,004 + 16) deletes of 1,004-byte keys.
    expect(n).toBeGreaterThan(4000);
    expect(n).toBeLessThan(4100);
    state.discard('dels');
  });
});

describe('scan and key edges (issue 13, defect 9)', () => {
  it('scan with limit 0 answers [] with writes pending (it threw a TypeError)', async () => {
    await state.put('s1', 'a', te.encode('1'));
    await state.begin('s1');
    await state.put('s1', 'b', te.encode('2'));
    await state.delete('s1', 'a');
    expect(await state.scan('s1', '', 0)).toEqual([]);
    expect((await state.scan('s1', '', 5)).map(([k]) => k)).toEqual(['b']);
    state.discard('s1');
    expect(await state.scan('s1', '', 0)).toEqual([]);
  });

  it('refuses keys with lone surrogates (EINPUT): they would collide with U+FFFD', async () => {
    for (const bad of ['sur\uD800', '\uDC00x']) {
      await expect(state.put('u1', bad, te.encode('v'))).rejects.toMatchObject({ code: 'EINPUT' });
      await expect(state.get('u1', bad)).rejects.toMatchObject({ code: 'EINPUT' });
      await expect(state.delete('u1', bad)).rejects.toMatchObject({ code: 'EINPUT' });
      await expect(state.scan('u1', bad, 10)).rejects.toMatchObject({ code: 'EINPUT' });
    }
    await state.put('u1', 'sur\uFFFD', te.encode('replacement char'));
    await state.put('u1', 'pair\uD83D\uDE00', te.encode('an emoji is a pair'));
    expect(await text('u1', 'sur\uFFFD')).toBe('replacement char');
    expect((await state.scan('u1', '', 10)).map(([k]) => k)).toEqual(['pair\uD83D\uDE00', 'sur\uFFFD']);
  });
});

describe('three writers on one agent outside operations (issue 13, defect 9)', () => {
  it('every put lands: the host retries what the plugin reports as ECONFLICT, with backoff and jitter', async () => {
    // Three kernels, each with its own storage plugin in its own thread, over one store: their
    // ref_cas calls interleave as three processes' would.
    const shared = new MemoryStore();
    const kernels = await Promise.all(
      [0, 1, 2].map(async () => {
        const k = new Kernel({ trust: [trusted], providers: { blocks: shared.blocks } });
        await k.load(await signed('storage'), { grants: [parseGrant('blocks'), parseGrant('random')], isolation: 'worker' });
        return k;
      }),
    );
    let conflicts = 0;
    const writers = kernels.map(
      (k) =>
        new AgentStateKv(
          roleClient('storage', async (exp, v) => {
            try {
              return await k.callValue('mcp0.storage', exp, v);
            } catch (e) {
              if ((e as { code?: string }).code === 'ECONFLICT') conflicts++;
              throw e;
            }
          }),
        ),
    );
    try {
      await Promise.all(
        writers.map((w, i) =>
          (async () => {
            for (let n = 0; n < 60; n++) await w.put('shared', `w${i}/${n}`, te.encode(String(n)));
          })(),
        ),
      );
      const all = await writers[0]!.scan('shared', '', 1000);
      expect(all).toHaveLength(180);
      console.info(`[three writers] 180 puts landed; the plugin reported ECONFLICT ${conflicts} times, each retried by the host`);
    } finally {
      for (const k of kernels) await k.stop();
      await shared.close();
    }
  });
});
