/**
 * Refs on MongoDB, moved only by compare-and-swap with single-document writes. A ref is a run of
 * append-only versions (`refs`, documents.ts): a CAS inserts version `expect + 1` after checking
 * that version `expect` exists. Versions are dense and never deleted, and the unique `_id` makes
 * the insert the atomic step, so a successful insert proves the caller was current. This holds on
 * FerretDB too, where a filtered update (`findOneAndUpdate` on a version) is not atomic across
 * connections. The latest version is the ref's value; the older ones are its history.
 *
 * `refhints` keeps a version each CAS raises (`$max`): the latest version is looked up from there
 * by exact `_id` (the hint may lag on FerretDB, never lead), instead of a range query that FerretDB
 * answers by decoding the whole collection.
 */
import { Binary } from 'mongodb';
import { sameBytes } from '../codec.js';
import { bytesOf, type RefDoc, type Run, versionId } from './documents.js';
import { isDuplicate } from './retry.js';

/**
 * The ref's highest version, or null. Versions are dense and never deleted, so from the hint (a
 * version that exists) the latest is found by looking up the next versions by exact `_id` until
 * one is missing: usually three lookups. (On FerretDB a range query with a sort decodes every
 * document of the collection in Go, 28 ms at 500 versions and growing with every write; an exact
 * `_id` is filtered in SQL, under a millisecond.) Without a hint (a ref written before hints), or
 * when the hint is far behind, the range query.
 * @example
 * const doc = await latestVersion(run, refHex('agent-1', 'head')) // { v: 3, root } or null
 */
export async function latestVersion(run: Run, key: string): Promise<Pick<RefDoc, 'v' | 'root'> | null> {
  const hint = await run('blocks.refGet', 'read', (c) => c.hints.findOne({ _id: key }, { projection: { v: 1 } }));
  let v = typeof hint?.v === 'number' && Number.isSafeInteger(hint.v) && hint.v > 0 ? hint.v : 0;
  if (v > 0) {
    const at = (n: number) => run('blocks.refGet', 'read', (c) => c.refs.findOne({ _id: versionId(key, n) }, { projection: { v: 1, root: 1 } }));
    let doc = await at(v);
    for (let probes = 0; doc !== null && probes < 8; probes++) {
      const next = await at(v + 1);
      if (next === null) return doc;
      doc = next;
      v++;
    }
  }
  return run('blocks.refGet', 'read', (c) =>
    c.refs.find({ _id: { $gt: `${key}.`, $lt: `${key}/` } }, { projection: { v: 1, root: 1 }, sort: { _id: -1 }, limit: 1 }).next(),
  );
}

/**
 * Inserts one ref version; false when another writer holds that version. After a lost reply the
 * insert is repeated, and a duplicate then may be our own first attempt: the stored writer token
 * tells them apart, so a win is never reported as a conflict (nor a loss as a win).
 * @example
 * if (await insertVersion(run, doc)) return doc.v
 */
export async function insertVersion(run: Run, doc: RefDoc): Promise<boolean> {
  return run('blocks.refCas', 'idempotent', async (c, attempt) => {
    try {
      await c.refs.insertOne(doc);
      return true;
    } catch (e) {
      if (!isDuplicate(e)) throw e;
      if (attempt === 0) return false;
      const stored = await c.refs.findOne({ _id: doc._id }, { projection: { w: 1 } });
      return stored !== null && stored.w instanceof Binary && sameBytes(bytesOf(stored.w), bytesOf(doc.w));
    }
  });
}

/**
 * Raises the ref's hint to `version` (best effort: the CAS has already succeeded). `$max` keeps
 * it from going back on MongoDB; on FerretDB a racing update may leave it lower, which costs
 * `latestVersion` a probe or two, never a wrong answer.
 * @example
 * await raiseHint(run, key, expect + 1)
 */
export async function raiseHint(run: Run, key: string, version: number): Promise<void> {
  try {
    await run('blocks.refCas', 'idempotent', (c) => c.hints.updateOne({ _id: key }, { $max: { v: version } }, { upsert: true }));
  } catch {
    // A lost hint update (an upsert race answers 11000, or the server went away) leaves it stale.
  }
}
