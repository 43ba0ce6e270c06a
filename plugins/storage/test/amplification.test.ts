// Write amplification, measured as bytes of NEW blocks handed to blocks_put, against the bytes of a
// full snapshot (every block reachable from the root). Also reads the tree with an independent
// JS reader that follows only the README's format description.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@mcp0/sdk';
import type { Kernel } from '@mcp0/kernel';
import { MAX_ITEMS, MAX_WEIGHT, decodeCommit, decodeNode, rank, weight } from './format.js';
import { NAME, boot, counting, sha } from './harness.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Walks a tree per README "Block and node format" (test/format.ts): bytes of all blocks, and the
 * entries; checks ids, levels, last keys and the boundary rule under the agent's salt.
 */
function readTree(get: (id: Uint8Array) => Uint8Array | undefined, root: Uint8Array, salt: Uint8Array) {
  let bytes = 0;
  const seen = new Set<string>();
  const entries: [string, Uint8Array][] = [];
  const block = (id: Uint8Array) => {
    const b = get(id)!;
    expect(hex(sha(b))).toBe(hex(id));
    if (!seen.has(hex(id))) {
      seen.add(hex(id));
      bytes += b.length;
    }
    return b;
  };
  const walk = (id: Uint8Array, expectLevel: number | null, tail: boolean): Uint8Array => {
    const node = decodeNode(block(id));
    expect(node.version).toBe(2);
    if (expectLevel !== null) expect(node.level).toBe(expectLevel);
    else if (node.level > 0) expect(node.items.length).toBeGreaterThan(1); // the first level with one node is the root
    let w = 0;
    node.items.forEach((it, i) => {
      w += weight(it);
      // A node ends after an item of rank > level, or at MAX_ITEMS items or MAX_WEIGHT of weight;
      // only the level's last node may end otherwise.
      const cut = rank(salt, it.key) > node.level || i + 1 >= MAX_ITEMS || w >= MAX_WEIGHT;
      if (i < node.items.length - 1) expect(cut).toBe(false);
      else if (!tail) expect(cut).toBe(true);
      if (node.level === 0) {
        if (it.valueId) {
          const v = block(it.valueId);
          expect(v.length).toBe(it.size);
          expect(v.length).toBeGreaterThan(64);
          entries.push([new TextDecoder().decode(it.key), v]);
        } else {
          expect(it.value!.length).toBeLessThanOrEqual(64);
          entries.push([new TextDecoder().decode(it.key), it.value!]);
        }
      } else {
        const last = walk(it.child!, node.level - 1, tail && i === node.items.length - 1);
        expect(hex(last)).toBe(hex(it.key));
      }
    });
    return node.items[node.items.length - 1]!.key;
  };
  walk(root, null, true);
  return { bytes, entries };
}

async function measure(kernel: Kernel, newBytes: () => number, reset: () => void, store: MemoryStore, agent: string, n: number, valueSize: number) {
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
  // Distinct values (no dedupe flatters the full size): key index and generation in the first bytes.
  const value = (i: number, gen: number) => {
    const v = new Uint8Array(valueSize);
    for (let j = 0; j < valueSize; j++) v[j] = (i * 131 + j * 7 + gen * 17) & 0xff;
    new DataView(v.buffer).setUint32(0, i);
    v[4] = gen;
    return v;
  };
  const key = (i: number) => `/memory/notes/${i}`;
  for (let i = 0; i < n; i += 500) {
    const puts = [];
    for (let j = i; j < Math.min(n, i + 500); j++) puts.push([key(j), value(j, 0)]);
    await call('apply', { agent, delta: { puts } });
  }
  const before = (await call('snapshot', { agent })).root as Uint8Array;
  const head = store.blocks.refGet(NAME, `head/${agent}`)!;
  const { salt } = decodeCommit(store.blocks.get(head.root)!);
  expect(salt?.length).toBe(16);
  const full = readTree((id) => store.blocks.get(id) as Uint8Array | undefined, before, salt!);
  expect(full.entries.length).toBe(n);
  // 1% of the keys get new values, in one apply.
  const changed = Array.from({ length: n / 100 }, (_, k) => Math.floor((k * 9973) % n));
  reset();
  const { root: after } = await call('apply', { agent, delta: { puts: changed.map((i) => [key(i), value(i, 1)]) } });
  const batch = newBytes();
  // The same 1% again, one put per key (each its own version).
  reset();
  for (const i of changed) await call('put', { agent, key: key(i), value: value(i, 2) });
  const single = newBytes();
  const d = await call('diff', { rootA: before, rootB: after });
  expect(d.puts.length).toBe(changed.length);
  expect(d.deletes).toEqual([]);
  return { full: full.bytes, batch, single, batchRatio: batch / full.bytes, singleRatio: single / full.bytes };
}

describe('write amplification of a 1% change', () => {
  let kernel: Kernel;
  const store = new MemoryStore();
  const c = counting(store.blocks);

  // A fixed salt, so that the byte counts (which depend on where nodes end) are the same every run.
  beforeAll(async () => {
    kernel = await boot(c.blocks, 'inline', { bytes: (n) => new Uint8Array(n).fill(0x5a) });
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
  });

  it('10,000 keys × 1 KiB: ≤ 5% of a full snapshot', async () => {
    const r = await measure(kernel, c.newBytes, c.reset, store, 'amp-1k', 10_000, 1024);
    console.log(
      `[storage] 10,000 × 1 KiB: full ${r.full} B; 1% in one apply ${r.batch} B (${(r.batchRatio * 100).toFixed(2)}%); as 100 puts ${r.single} B (${(r.singleRatio * 100).toFixed(2)}%)`,
    );
    expect(r.batchRatio).toBeLessThanOrEqual(0.05);
    // 100 separate versions each rewrite their own root-to-leaf path (~4 nodes of ~1 KB + a commit).
    expect(r.singleRatio).toBeLessThanOrEqual(0.06);
  });

  it('10,000 keys × 64 B (inline values): measured and bounded', async () => {
    const r = await measure(kernel, c.newBytes, c.reset, store, 'amp-64', 10_000, 64);
    console.log(
      `[storage] 10,000 × 64 B: full ${r.full} B; 1% in one apply ${r.batch} B (${(r.batchRatio * 100).toFixed(2)}%); as 100 puts ${r.single} B (${(r.singleRatio * 100).toFixed(2)}%)`,
    );
    // Inline values: every touched leaf (~1.2 KB) is rewritten, so ~100 of ~640 leaves change.
    expect(r.batchRatio).toBeLessThanOrEqual(0.3);
  });
});
