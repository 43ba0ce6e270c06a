/**
 * What a node keeps in the block space beside the storage plugin's trees, marked for gc
 * (../store/gc.ts): each agent's signed module (the chunks its record lists) and the trees of its
 * recorded snapshots, which `agent.recover` and healing restore and which `keep` may have cut out
 * of the plugin's history. Every record in the node's namespace counts, also those of agents the
 * node refuses to bring back (an untrusted publisher today may be trusted tomorrow).
 *
 * A malformed record (../node/records.ts `list().malformed`) is kept whole rather than read: the
 * node writes block ids only as 64-hex-digit text inside CBOR records (module chunks, snapshot
 * roots), so every such text, and every 32-byte byte string, anywhere in the record's CBOR is kept,
 * with the tree under it when it is a tree node; a record that is not CBOR at all is searched for
 * 64-hex-digit runs. Whatever shape a damaged, older or newer record has, a block it names is not
 * deleted; at worst some garbage stays (a record anyone planted can pin blocks, not remove them).
 */
import { decodeCbor, type CborValue } from '@mcp0/abi';
import type { Store } from '../store/types.js';
import type { GcMarking } from '../store/gc.js';
import { AgentRecords, NODE_NAMESPACE } from './records.js';

const HEX64 = /^[0-9a-f]{64}$/i;

/**
 * Marks the modules and recorded snapshots of every agent record in `store` (see the header).
 * @example
 * await markNodeRecords(store, marking) // called by collectGarbage after the heads
 */
export async function markNodeRecords(store: Pick<Store, 'kv' | 'blocks'>, marking: GcMarking): Promise<void> {
  // A caller's partial store without kv holds no records (collectGarbage takes a Store, which has one).
  if (store.kv === undefined) return;
  const { records, malformed } = await new AgentRecords(store.kv, store.blocks).list();
  for (const r of records) {
    marking.record();
    const ids = r.module.blocks.map((b) => Buffer.from(b, 'hex'));
    ids.forEach((id) => marking.block(id));
    const present = await store.blocks.has(ids);
    present.forEach((ok, i) => {
      if (!ok)
        marking.damaged({
          what: `agent ${r.id} module`,
          agent: r.id,
          block: r.module.blocks[i]!,
          message: 'missing from the store: the node cannot load this agent',
        });
    });
    for (const s of r.snapshots) await marking.tree(Buffer.from(s.id, 'hex'), `agent ${r.id} snapshot ${s.id}`, r.id);
  }
  for (const m of malformed) {
    const raw = await store.kv.get(NODE_NAMESPACE, m.key);
    if (raw === undefined) continue; // removed since the listing: nothing names anything
    const ids = namedIds(raw);
    for (const id of ids) await marking.pin(id);
    marking.malformed({ key: m.key, reason: m.reason, ids: ids.length });
  }
}

/** Every block id a record's bytes could name (see the header), distinct. */
function namedIds(raw: Uint8Array): Uint8Array[] {
  const found = new Map<string, Uint8Array>();
  const add = (id: Uint8Array) => found.set(Buffer.from(id).toString('hex'), id);
  let value: CborValue;
  try {
    value = decodeCbor(raw);
  } catch {
    for (const m of Buffer.from(raw)
      .toString('latin1')
      .matchAll(/[0-9a-fA-F]{64}/g))
      add(Buffer.from(m[0], 'hex'));
    return [...found.values()];
  }
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (HEX64.test(v)) add(Buffer.from(v, 'hex'));
    } else if (v instanceof Uint8Array) {
      if (v.length === 32) add(v);
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) stack.push(k, x);
  }
  return [...found.values()];
}
