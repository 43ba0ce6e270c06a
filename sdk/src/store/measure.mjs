// Measures the LMDB store: puts/s and gets/s for 256-byte and 1 KiB blocks, synchronous writes
// (the store's path: one LMDB transaction per call) against lmdb's asynchronous batched `put`.
// Run after `npx tsc -b`:  node sdk/src/store/measure.mjs   (numbers go in the store's notes).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LmdbStore } from '../../dist/store/lmdb.js';

const root = mkdtempSync(join(tmpdir(), 'mcp0-measure-'));
let dirs = 0;
const dir = () => join(root, `d${dirs++}`);
const blocks = (n, size) => Array.from({ length: n }, () => new Uint8Array(randomBytes(size)));
const rate = (n, ms) => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;
function time(f) {
  const t = performance.now();
  const r = f();
  return r instanceof Promise ? r.then(() => performance.now() - t) : performance.now() - t;
}

const rows = [];
for (const size of [256, 1024]) {
  const one = 2000;
  const many = 50_000;
  for (const overlappingSync of [true, false]) {
    const store = LmdbStore.open(dir(), { overlappingSync });
    const data = blocks(one, size);
    rows.push([
      size,
      `store.blocks.put([b]) sync, 1 txn per block, overlappingSync=${overlappingSync}`,
      rate(
        one,
        time(() => {
          for (const b of data) store.blocks.put([b]);
        }),
      ),
    ]);
    await store.close();
  }
  {
    const store = LmdbStore.open(dir());
    const data = blocks(many, size);
    rows.push([
      size,
      'store.blocks.put(100 blocks) sync, 1 txn per call',
      rate(
        many,
        time(() => {
          for (let i = 0; i < many; i += 100) store.blocks.put(data.slice(i, i + 100));
        }),
      ),
    ]);
    const ids = data.map((b) => createHash('sha256').update(b).digest());
    rows.push([
      size,
      'store.blocks.get(id) sync, sha256-verified',
      rate(
        many,
        time(() => {
          for (const id of ids) store.blocks.get(id);
        }),
      ),
    ]);
    rows.push([
      size,
      'store.blocks.has([id])',
      rate(
        many,
        time(() => {
          for (const id of ids) store.blocks.has([id]);
        }),
      ),
    ]);
    await store.close();
  }
  for (const perTurn of [1, 'all']) {
    const env = open({ path: dir(), maxDbs: 4, compression: false });
    const db = env.openDB({ name: 'blocks', encoding: 'binary', keyEncoding: 'binary', cache: false });
    const data = blocks(perTurn === 1 ? one : many, size);
    const ids = data.map((b) => createHash('sha256').update(b).digest());
    const ms =
      perTurn === 1
        ? await time(async () => {
            for (let i = 0; i < data.length; i++) await db.put(ids[i], data[i]);
          })
        : await time(() => Promise.all(data.map((b, i) => db.put(ids[i], b))));
    rows.push([
      size,
      perTurn === 1 ? 'raw lmdb await put() one at a time (async, 1 txn each)' : 'raw lmdb put() all in one turn (async batch)',
      rate(data.length, ms),
    ]);
    rows.push([
      size,
      'raw lmdb get(id), no verification',
      rate(
        ids.length,
        time(() => {
          for (const id of ids) db.get(id);
        }),
      ),
    ]);
    await env.close();
  }
}
rmSync(root, { recursive: true, force: true });
console.log('| block | operation | rate |\n|---|---|---|');
for (const [size, what, r] of rows) console.log(`| ${size} B | ${what} | ${r} |`);
