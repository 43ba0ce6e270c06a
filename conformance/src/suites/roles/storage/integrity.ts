/**
 * Storage role cases about integrity: a corrupted block gives a typed error and never wrong data,
 * and concurrent writers either serialise or fail with ECONFLICT, losing no acknowledged write.
 */
import { Mcp0Error } from '@mcp0/abi';
import { MemoryStore, type StoreDamage } from '@mcp0/sdk';
import { CaseFailure, check, type Case } from '../../../runner/case.js';
import { bench, type Bench } from '../../harness.js';
import { brief, caller, canonical, sameBytes } from '../call.js';
import { bytes, expectGet, hexOf, listAll, sameEntries, withPlugin, type Root, type StorageContext } from './common.js';

/** Reads that must give a typed error or exactly the truth, never other data. */
async function typedOrTrue(b: Bench, reads: readonly (readonly [string, Record<string, unknown>, unknown])[], when: string): Promise<void> {
  for (const [exp, input, truth] of reads) {
    let got: unknown;
    try {
      got = await b.kernel.callValue(b.module.name, exp, input as never);
    } catch (e) {
      if (e instanceof Mcp0Error) continue; // refused: the contract holds
      throw new CaseFailure(`${exp} ${brief(input)} ${when}: expected a typed error, got ${String(e)}`);
    }
    check(
      truth !== undefined && canonical(got) === canonical(truth),
      `${exp} ${brief(input)} ${when}: expected a typed error or exactly the data stored, got other data: ${brief(got)}`,
    );
  }
}

export const corrupted: Case<StorageContext> = {
  name: 'corrupted block: a typed error, never wrong data',
  async run({ subject }) {
    // Bit rot inside the store (the store checks ids on read and reports EINTERNAL): the plugin
    // must pass the failure on as a typed error, never treat it as absence or return other data.
    // A store of the case's own, opened with a fault hook that hands over the means to rot it.
    let damage: StoreDamage | undefined;
    const store = new MemoryStore({ faults: { opened: (d) => (damage = d) } });
    const rot = (id: Uint8Array, bytes: Uint8Array) => damage!.corruptBlock(id, bytes);
    await withPlugin(
      subject,
      async (call, b) => {
        const big = new Uint8Array(4000).map((_, i) => (i * 13) & 0xff);
        await call('put', { agent: 'rot', key: '/big', value: big });
        await call('put', { agent: 'rot', key: '/small', value: bytes('small') });
        const { root } = (await call('snapshot', { agent: 'rot' })) as Root;
        const ids = (await store.listBlocks(undefined, 100_000)).map((e) => e.id);
        check(
          ids.some((id) => sameBytes(id, root)),
          `snapshot: expected the root ${hexOf(root)} to be a stored block`,
        );
        const originals = new Map<string, Uint8Array>();
        const tamper = async (id: Uint8Array) => {
          const good = (await store.blocks.get(id))!;
          originals.set(hexOf(id), good);
          const t = good.slice();
          t[t.length - 1]! ^= 1;
          await rot(id, t);
        };
        const entries = [
          ['/big', big],
          ['/small', bytes('small')],
        ];
        // A plugin may keep blocks it has verified (immutable by id) and answer from them: the right
        // data, which this case accepts; only other data fails it.
        const reads = [
          ['get', { agent: 'rot', key: '/big' }, big],
          ['get', { agent: 'rot', key: '/small' }, bytes('small')],
          ['list', { agent: 'rot' }, { entries, cursor: null }],
        ] as const;
        for (const id of ids) if (!sameBytes(id, root)) await tamper(id);
        await typedOrTrue(b, reads, 'with every block but the root corrupted');
        await tamper(root);
        await typedOrTrue(b, [...reads, ['diff', { rootA: root, rootB: root }, { puts: [], deletes: [] }]], 'with every block corrupted');
        // A write may fail (typed) or, when the plugin need not read a corrupted block (it cached what
        // it verified earlier), succeed: then it must have written exactly the new state.
        let wrote = false;
        try {
          // Called directly, not through `call`, which reports any error as the case failing.
          const put = (await b.kernel.callValue(b.module.name, 'put', { agent: 'rot', key: '/n', value: bytes('n') } as never)) as { root?: unknown } | null;
          check(
            put?.root instanceof Uint8Array && put.root.length === 32,
            `put with every block corrupted: expected a typed error or {root}, got ${brief(put)}`,
          );
          wrote = true;
        } catch (e) {
          if (!(e instanceof Mcp0Error)) throw new CaseFailure(`put with every block corrupted: expected a typed error, got ${String(e)}`);
        }
        for (const [h, good] of originals) await rot(Uint8Array.from(Buffer.from(h, 'hex')), good);
        await expectGet(call, 'rot', '/big', big, 'once the blocks are repaired');
        await expectGet(call, 'rot', '/small', bytes('small'), 'once the blocks are repaired');
        await expectGet(call, 'rot', '/n', wrote ? bytes('n') : null, `once the blocks are repaired (the put ${wrote ? 'succeeded' : 'failed'})`);
      },
      store.blocks,
      store,
    );
  },
};

export const concurrent: Case<StorageContext> = {
  name: 'concurrent writers: ECONFLICT or serialised, nothing lost',
  slow: true,
  async run({ subject }) {
    const store = new MemoryStore();
    const writers: Bench[] = [];
    try {
      for (let i = 0; i < 3; i++) writers.push(await bench(subject, { isolation: 'worker', providers: { blocks: store.blocks } }));
      const outcomes = await Promise.all(
        writers.map(async (w, n) => {
          const out: [string, string][] = [];
          for (let i = 0; i < 8; i++) {
            const k = `/w${n}/${i}`;
            try {
              await w.kernel.callValue(w.module.name, 'put', { agent: 'contended', key: k, value: bytes(k) });
              out.push([k, 'ok']);
            } catch (e) {
              out.push([k, e instanceof Mcp0Error ? e.code : String(e)]);
            }
          }
          return out;
        }),
      );
      const all = outcomes.flat();
      const odd = all.filter(([, c]) => c !== 'ok' && c !== 'ECONFLICT');
      check(odd.length === 0, `concurrent puts: expected each to succeed or fail with ECONFLICT, got ${odd.map(([k, c]) => `${k}: ${c}`).join(', ')}`);
      const acked = all.filter(([, c]) => c === 'ok').map(([k]) => k);
      const model = new Map(acked.map((k) => [k, bytes(k)]));
      sameEntries(
        'list after concurrent puts (every acknowledged put kept)',
        await listAll(caller(writers[0]!.kernel, writers[0]!.module.name, 'storage'), 'contended', '', 1000),
        model,
      );
    } finally {
      for (const w of writers) await w.close();
      await store.close();
    }
  },
};
