/**
 * Writing blocks to MongoDB: put-if-absent as an unordered `insertMany`, whose duplicates are
 * freshened (their write time `t` moved on), so a gc sweep in progress keeps a block that was
 * just put again.
 */
import { type Collection, MongoBulkWriteError } from 'mongodb';
import type { BlockDoc } from './documents.js';
import { DUPLICATE_KEY } from './retry.js';

/**
 * Unordered insert; the documents whose `_id` exists (its duplicate-key errors) are freshened
 * instead: `t` set by one `updateMany`, and any that a sweep removed in between written again.
 * New blocks are the common case, so the insert goes first. (FerretDB with SQLite is slow with
 * duplicates, about 90 ms each, and with `$in`, a full decode of the collection; on MongoDB both
 * are index work.) Repeating it is harmless: a retry after a lost reply finds the blocks there.
 * @example
 * await insertOrFreshen(collections.blocks, [{ _id: hex(id), data: new Binary(bytes), t: Date.now() }])
 */
export async function insertOrFreshen(collection: Collection<BlockDoc>, docs: BlockDoc[]): Promise<void> {
  let present: string[];
  try {
    await collection.insertMany(docs, { ordered: false });
    return;
  } catch (e) {
    if (!(e instanceof MongoBulkWriteError) || e.errorResponse instanceof Error) throw e;
    const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    const onlyDuplicates = writeErrors.length > 0 && writeErrors.every((w) => w.code === DUPLICATE_KEY);
    if (!onlyDuplicates || e.result?.getWriteConcernError()) throw e;
    present = writeErrors.map((w) => docs[w.index]!._id);
  }
  const { matchedCount } = await collection.updateMany({ _id: { $in: present } }, { $set: { t: docs[0]!.t } });
  if (matchedCount === present.length) return;
  // A sweep removed some between the insert and the update: write those again.
  const still = new Set((await collection.find({ _id: { $in: present } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
  const gone = docs.filter((d) => present.includes(d._id) && !still.has(d._id));
  if (gone.length > 0) await insertOrFreshen(collection, gone);
}
