/**
 * Storage role cases about one key space: put/get/delete, ordered and paged listing, the key and
 * value limits, and isolation between agents.
 */
import { check, type Case } from '../../../runner/case.js';
import { brief, failure, sameBytes } from '../call.js';
import { bytes, expectGet, listAll, sameEntries, withPlugin, type Page, type Root, type StorageContext } from './common.js';

export const roundTrip: Case<StorageContext> = {
  name: 'put, get, overwrite and delete',
  run: ({ subject }) =>
    withPlugin(subject, async (call) => {
      const a = 'agent-rw';
      await expectGet(call, a, '/k', null, 'of a key never written');
      const small = bytes('small');
      const big = new Uint8Array(5000).map((_, i) => (i * 31) & 0xff);
      const put: Root = await call('put', { agent: a, key: '/k', value: small });
      check(put?.root instanceof Uint8Array && put.root.length === 32, `put: expected {root: 32 bytes}, got ${brief(put)}`);
      await call('put', { agent: a, key: '/big', value: big });
      await call('put', { agent: a, key: '/empty', value: new Uint8Array(0) });
      for (const [k, v] of [
        ['/k', small],
        ['/big', big],
        ['/empty', new Uint8Array(0)],
      ] as const) {
        const got = await call('get', { agent: a, key: k });
        check(sameBytes(got, v), `get ${k}: expected the ${v.length} bytes put, got ${brief(got)}`);
      }
      await call('put', { agent: a, key: '/k', value: big });
      await expectGet(call, a, '/k', big, 'after an overwrite');
      const d1 = await call('delete', { agent: a, key: '/k' });
      check(d1?.existed === true, `delete of a present key: expected {existed: true}, got ${brief(d1)}`);
      const d2 = await call('delete', { agent: a, key: '/k' });
      check(d2?.existed === false, `delete of an absent key: expected {existed: false}, got ${brief(d2)}`);
      await expectGet(call, a, '/k', null, 'after its delete');
      await expectGet(call, a, '/big', big, 'after another key was deleted');
    }),
};

export const listing: Case<StorageContext> = {
  name: 'list by prefix, in key order, with cursor pages',
  run: ({ subject }) =>
    withPlugin(subject, async (call) => {
      const a = 'agent-list';
      const model = new Map<string, Uint8Array>();
      const keys = ['/n/b', '/n/a', '/n/é', '/n/z', '/n/a/1', '/o/x', '/n', '/m', '/n/😀', '/n/Z'];
      for (let i = 0; i < 40; i++) keys.push(`/n/p/${(i * 7) % 40}`);
      for (const k of keys) {
        const v = bytes(`v:${k}`);
        await call('put', { agent: a, key: k, value: v });
        model.set(k, v);
      }
      const under = new Map([...model].filter(([k]) => k.startsWith('/n/')));
      sameEntries('list prefix /n/ (pages of 3)', await listAll(call, a, '/n/', 3), under);
      sameEntries('list prefix /n/ (one page)', await listAll(call, a, '/n/', 1000), under);
      sameEntries('list everything', await listAll(call, a, '', 7), model);
      const none: Page = await call('list', { agent: a, prefix: '/nothing/' });
      check(none?.entries?.length === 0 && none.cursor === null, `list of an empty prefix: expected no entries and a null cursor, got ${brief(none)}`);
    }),
};

export const limits: Case<StorageContext> = {
  name: 'limits: oversized keys and values are ETOOBIG',
  run: ({ subject }) =>
    withPlugin(subject, async (_call, b) => {
      const name = b.module.name;
      const k = 'k'.repeat(1025);
      for (const [exp, input] of [
        ['get', { agent: 'big', key: k }],
        ['put', { agent: 'big', key: k, value: bytes('v') }],
        ['delete', { agent: 'big', key: k }],
        ['apply', { agent: 'big', delta: { puts: [[k, bytes('v')]], deletes: [] } }],
        ['put', { agent: 'big', key: '/v', value: new Uint8Array((1 << 20) + 1) }],
      ] as const) {
        const e = await failure(b.kernel.callValue(name, exp, input as never), `${exp} over the limit`);
        check(
          e.code === 'ETOOBIG',
          `${exp} with a ${exp === 'put' && 'value' in input && input.value.length > 1000 ? '1 MiB + 1 value' : '1,025-byte key'}: expected ETOOBIG, got ${e.code}: ${e.message}`,
        );
      }
      const max = new Uint8Array(1 << 20).fill(3);
      await _call('put', { agent: 'big', key: 'k'.repeat(1024), value: max });
      check(
        sameBytes(await _call('get', { agent: 'big', key: 'k'.repeat(1024) }), max),
        'the largest key and value allowed: expected them stored and read back',
      );
    }),
};

export const isolation: Case<StorageContext> = {
  name: 'agents are isolated',
  run: ({ subject }) =>
    withPlugin(subject, async (call) => {
      await call('put', { agent: 'alice', key: '/secret', value: bytes('a') });
      await call('put', { agent: 'bob', key: '/secret', value: bytes('b') });
      await call('delete', { agent: 'bob', key: '/secret' });
      await expectGet(call, 'alice', '/secret', bytes('a'), 'of alice after bob deleted his');
      const page: Page = await call('list', { agent: 'bob' });
      check(page?.entries?.length === 0, `list of bob after his delete: expected nothing, got ${brief(page)}`);
    }),
};
