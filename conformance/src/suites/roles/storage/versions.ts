/**
 * Storage role cases about versions: snapshot and restore, diff and apply, history, and gc keeping
 * what the head reaches.
 */
import { collectGarbage, MemoryStore } from '@mcp0/sdk';
import { CaseSkip, check, type Case } from '../../../runner/case.js';
import { brief, failure, sameBytes } from '../call.js';
import { byBytes, bytes, expectGet, listAll, sameEntries, withPlugin, type Root, type StorageContext } from './common.js';

export const snapshots: Case<StorageContext> = {
  name: 'snapshot and restore',
  run: ({ subject }) =>
    withPlugin(subject, async (call, b) => {
      const a = 'agent-snap';
      const empty: Root = await call('snapshot', { agent: a });
      await call('put', { agent: a, key: '/x', value: bytes('1') });
      const s1: Root = await call('snapshot', { agent: a });
      await call('put', { agent: a, key: '/x', value: bytes('2') });
      await call('put', { agent: a, key: '/y', value: bytes('3') });
      const s2: Root = await call('snapshot', { agent: a });
      check(!sameBytes(s1.root, s2.root), 'snapshot: expected different roots for different contents, got the same');
      const r = await call('restore', { agent: a, root: s1.root });
      check(sameBytes(r?.root, s1.root), `restore: expected {root} of the snapshot, got ${brief(r)}`);
      await expectGet(call, a, '/x', bytes('1'), 'after restoring snapshot 1');
      await expectGet(call, a, '/y', null, 'after restoring snapshot 1 (it was written later)');
      check(sameBytes((await call('snapshot', { agent: a })).root, s1.root), 'snapshot after restore: expected the restored root');
      await call('restore', { agent: a, root: s2.root });
      await expectGet(call, a, '/y', bytes('3'), 'after restoring snapshot 2');
      await call('restore', { agent: a, root: empty.root });
      await expectGet(call, a, '/x', null, 'after restoring the empty snapshot');
      const missing = await failure(
        b.kernel.callValue(b.module.name, 'restore', { agent: a, root: new Uint8Array(32).fill(9) }),
        'restore of a root that does not exist',
      );
      check(missing.code === 'ENOTFOUND', `restore of a root that does not exist: expected ENOTFOUND, got ${missing.code}: ${missing.message}`);
    }),
};

export const diffApply: Case<StorageContext> = {
  name: 'diff and apply round trip',
  run: ({ subject }) =>
    withPlugin(subject, async (call) => {
      const base: [string, Uint8Array][] = Array.from({ length: 60 }, (_, i) => [`/d/${i}`, bytes(`base ${i}`)]);
      const a: Root = await call('apply', { agent: 'diff-a', delta: { puts: base, deletes: [] } });
      await call('apply', { agent: 'diff-b', delta: { puts: base, deletes: [] } });
      const b: Root = await call('apply', {
        agent: 'diff-b',
        delta: {
          puts: [
            ['/d/3', bytes('changed')],
            ['/d/new', new Uint8Array(3000).fill(5)],
          ],
          deletes: ['/d/7', '/d/8'],
        },
      });
      const same = await call('diff', { rootA: a.root, rootB: a.root });
      check(same?.puts?.length === 0 && same?.deletes?.length === 0, `diff of a root with itself: expected no puts and no deletes, got ${brief(same)}`);
      const d = await call('diff', { rootA: a.root, rootB: b.root });
      const putKeys = (d?.puts ?? []).map(([k]) => k).sort(byBytes);
      check(JSON.stringify(putKeys) === JSON.stringify(['/d/3', '/d/new']), `diff: expected puts of /d/3 and /d/new, got ${brief(putKeys)}`);
      check(
        JSON.stringify([...(d?.deletes ?? [])].sort(byBytes)) === JSON.stringify(['/d/7', '/d/8']),
        `diff: expected deletes of /d/7 and /d/8, got ${brief(d?.deletes)}`,
      );
      const applied: Root = await call('apply', { agent: 'diff-a', delta: d });
      // Each agent's tree is cut under its own secret salt, so equal content in two agents may have
      // two roots; diff compares content.
      const left = await call('diff', { rootA: applied.root, rootB: b.root });
      check(
        left?.puts?.length === 0 && left?.deletes?.length === 0,
        `apply(diff(a, b)) onto a: expected the content of b (diff with b empty), got ${brief(left)}`,
      );
      const model = new Map(base);
      model.set('/d/3', bytes('changed')).set('/d/new', new Uint8Array(3000).fill(5));
      model.delete('/d/7');
      model.delete('/d/8');
      sameEntries('list after apply(diff)', await listAll(call, 'diff-a', '', 1000), model);
      const back: Root = await call('apply', { agent: 'diff-a', delta: await call('diff', { rootA: applied.root, rootB: a.root }) });
      check(
        sameBytes(back.root, a.root),
        'apply(diff(b, a)) back onto a: expected the root a had (the same content in the same agent gives the same root), got another root',
      );
    }),
};

export const expectAndRoots: Case<StorageContext> = {
  name: 'apply with expect, and get and list at a root',
  run: ({ subject }) =>
    withPlugin(subject, async (call, b) => {
      const a = 'agent-expect';
      const v0 = await call('snapshot', { agent: a });
      check(v0?.version === 0, `snapshot of an agent never written: expected version 0, got ${brief(v0)}`);
      await call('apply', {
        agent: a,
        delta: {
          puts: [
            ['/x', bytes('1')],
            ['/m/1', bytes('a')],
          ],
        },
        expect: 0,
      });
      const v1 = await call('snapshot', { agent: a });
      await call('apply', { agent: a, delta: { puts: [['/x', bytes('2')]], deletes: ['/m/1'] }, expect: v1.version });
      const stale = await failure(
        b.kernel.callValue(b.module.name, 'apply', { agent: a, delta: { puts: [['/x', bytes('3')]] }, expect: v1.version }),
        'apply with a stale expect',
      );
      check(stale.code === 'ECONFLICT', `apply with a stale expect: expected ECONFLICT, got ${stale.code}: ${stale.message}`);
      await expectGet(call, a, '/x', bytes('2'), 'after an apply refused for a stale expect');
      const at = await call('get', { agent: a, key: '/x', root: v1.root });
      check(sameBytes(at, bytes('1')), `get at an older root: expected the value it held, got ${brief(at)}`);
      const page = await call('list', { agent: a, root: v1.root });
      check(page?.entries?.length === 2, `list at an older root: expected its 2 entries, got ${brief(page)}`);
      const missing = await failure(
        b.kernel.callValue(b.module.name, 'get', { agent: a, key: '/x', root: new Uint8Array(32).fill(9) }),
        'get at a root that does not exist',
      );
      check(missing.code === 'ENOTFOUND', `get at a root that does not exist: expected ENOTFOUND, got ${missing.code}: ${missing.message}`);
    }),
};

export const history: Case<StorageContext> = {
  name: 'history, newest first',
  run: ({ subject }) =>
    withPlugin(subject, async (call) => {
      const a = 'agent-history';
      const roots: Uint8Array[] = [];
      for (let i = 0; i < 4; i++) roots.push(((await call('put', { agent: a, key: `/h/${i}`, value: bytes(String(i)) })) as Root).root);
      const h = await call('history', { agent: a, limit: 10 });
      check(Array.isArray(h?.roots), `history: expected {roots: [...]}, got ${brief(h)}`);
      const want = [...roots].reverse();
      check(h.roots.length >= want.length, `history: expected at least the ${want.length} roots written, got ${h.roots.length}`);
      want.forEach((r, i) =>
        check(sameBytes(h.roots[i], r), `history: expected root #${i} to be the root of put #${want.length - 1 - i} (newest first), got ${brief(h.roots[i])}`),
      );
      const two = await call('history', { agent: a, limit: 2 });
      check(two?.roots?.length === 2, `history with limit 2: expected 2 roots, got ${brief(two)}`);
    }),
};

export const gc: Case<StorageContext> = {
  name: 'gc keeps what the head reaches, and the host sweeps the rest',
  run: ({ subject }) => {
    if (!subject.manifest.exports.some((e) => e.name === 'gc')) throw new CaseSkip('the plugin does not export gc');
    const store = new MemoryStore();
    return withPlugin(
      subject,
      async (call, b) => {
        const a = 'agent-gc';
        const model = new Map<string, Uint8Array>();
        for (let i = 0; i < 20; i++) {
          const v = new Uint8Array(200 + i * 100).fill(i);
          await call('put', { agent: a, key: `/g/${i % 7}`, value: v });
          model.set(`/g/${i % 7}`, v);
        }
        const old: Root = await call('snapshot', { agent: a });
        await call('put', { agent: a, key: '/g/0', value: bytes('last') });
        model.set('/g/0', bytes('last'));
        // The SDK's collector: the plugin's gc marks (keeping one commit), the host sweeps the rest.
        const report = await collectGarbage({
          store,
          namespace: b.module.name,
          keep: 1,
          graceMs: 0,
          now: () => Date.now() + 1_000,
          call: (exportName, input) => b.kernel.callValue(b.module.name, exportName, input as never),
        });
        check(report.swept > 0, `gc keeping 1 commit after 21 writes: expected superseded blocks swept, got ${brief(report)}`);
        sameEntries('list after gc', await listAll(call, a, '', 1000), model);
        const h = await call('history', { agent: a, limit: 10 });
        check(h?.roots?.length === 1, `history after gc keeping 1 commit: expected 1 root, got ${brief(h?.roots?.length)}`);
        const [kept] = await store.blocks.has([old.root]);
        check(!kept, 'gc keeping 1 commit: expected the root of a superseded commit swept, got it still stored (marked live)');
      },
      store.blocks,
      store,
    );
  },
};
