/**
 * Backup and restore of one agent's `mcp0.storage` state as a sealed, self-verifying archive:
 * deterministic CBOR `{format: "mcp0.archive/2", agent, head: commitId, blocks: [bytes, ...], seal}`
 * holding exactly the blocks reachable from the head commit (its tree nodes and out-of-line values;
 * with history also every parent commit and its tree), in the order export walks them, and the
 * exporting operator's seal (./seal.ts) over the format, the agent's name, the head, the history
 * flag and the block count. Import checks the seal against keys the caller trusts, then re-hashes
 * every block and walks the structure from the head, before writing anything: an accepted archive
 * is, byte for byte, the one the sealing key exported, under the name it exported it.
 *
 * An archive without history is self-contained: its head is a root commit of the current state
 * (the head commit with no parent and seq 1; every other field, the tree included, as stored), so
 * the imported agent's history starts there and names no block the archive lacks, and exporting the
 * imported agent again gives the same bytes.
 */
import { LIMITS, Mcp0Error, UsageError, decodeCbor, encodeCbor, type CborValue, type PrivateKey, type PublicKey } from '@mcp0/abi';
import type { BlockProvider } from '@mcp0/kernel';
import { sha256 } from '../store/codec.js';
import { EMPTY_TREE, EMPTY_TREE_ID, STORAGE_MODULE, headRef, hex, readCommit, walk } from './format.js';
import { checkSealCovers, namedSigner, sealArchive, verifySeal } from './seal.js';

/**
 * The `format` field of the archives this version writes and reads: version 2, sealed.
 * @example
 * (decodeCbor(bytes) as { format?: unknown }).format === ARCHIVE_FORMAT
 */
export const ARCHIVE_FORMAT = 'mcp0.archive/2';

/** Version 1 carried no seal, so its agent name was anyone's to edit: it is refused, with how to re-export. */
const UNSEALED_FORMAT = 'mcp0.archive/1';

/**
 * What export and import need of a store: its block provider.
 * @example
 * const store: ArchiveStore = await openStore('lmdb:./data') // any Store is one
 */
export interface ArchiveStore {
  readonly blocks: BlockProvider;
}

/**
 * Options of `exportAgent`.
 * @example
 * const bytes = await exportAgent(store, 'agent-1', { key: operatorKey, history: true })
 */
export interface ExportOptions {
  /** The exporting operator's private key: it seals the archive. Required. */
  key: PrivateKey;
  /** Also archive every earlier version (the parent commits and their trees). Default false. */
  history?: boolean;
}

/**
 * Options of `readArchive`.
 * @example
 * const info = await readArchive(bytes, { trust: [operatorPublicKey] })
 */
export interface ReadOptions {
  /** The keys trusted to seal archives (the exporting operators'). Required; an archive sealed by any other key is refused. */
  trust: readonly PublicKey[];
}

/**
 * Options of `importAgent`.
 * @example
 * await importAgent(store, bytes, { trust: [operatorPublicKey], force: true }) // replaces a different head
 */
export interface ImportOptions extends ReadOptions {
  /** Move the head even when the agent already has a different one. Default false. */
  force?: boolean;
}

/**
 * What an archive holds, once verified.
 * @example
 * const info: ArchiveInfo = await readArchive(bytes, { trust: [operatorPublicKey] })
 * console.log(info.agent, info.signer, Buffer.from(info.root).toString('hex'), info.blocks.length, info.history)
 */
export interface ArchiveInfo {
  /** The agent's name, as the seal vouches for it. */
  agent: string;
  /** The key id of the trusted key that sealed the archive. */
  signer: string;
  /** The head commit id. */
  head: Uint8Array;
  /** The tree root of the head commit (what the plugin's `snapshot` returns as `root`). */
  root: Uint8Array;
  /** The verified blocks, in archive order. */
  blocks: Uint8Array[];
  /** True when the archive holds the whole parent chain. */
  history: boolean;
}

/**
 * What `importAgent` did.
 * @example
 * const { agent, signer, version, blocks, bytes }: ImportResult = await importAgent(store, archive, { trust })
 */
export interface ImportResult {
  agent: string;
  /** The key id of the trusted key that sealed the archive. */
  signer: string;
  /** The tree root of the imported head. */
  root: Uint8Array;
  /** The imported head commit id (what `head/<agent>` now names). */
  head: Uint8Array;
  /** The ref version of `head/<agent>` after the import. */
  version: number;
  /** Blocks in the archive, and their total bytes. */
  blocks: number;
  bytes: number;
}

const MAX_AGENT_BYTES = 200;
const enc = new TextEncoder();

const input = (message: string, details: Record<string, unknown> = {}): Mcp0Error => new Mcp0Error('EINPUT', `archive: ${message}`, details);

function checkAgent(agent: unknown): string {
  if (typeof agent !== 'string') throw input(`agent: expected text, got ${agent === null ? 'null' : typeof agent}`);
  const n = enc.encode(agent).length;
  if (n < 1 || n > MAX_AGENT_BYTES) throw input(`agent: expected 1..${MAX_AGENT_BYTES} UTF-8 bytes, got ${n}`, { agent });
  return agent;
}

/**
 * Exports `agent`'s state (the head commit and everything reachable from it) as archive bytes,
 * sealed with `options.key`. Without `history` the archive's head is the root commit of the current
 * state (see the header), not the stored head, which names its parent. Every block read is checked
 * against its id and decoded per the storage plugin's format. An agent without a head is
 * `ENOTFOUND`; a missing or malformed block is `ENOTFOUND` / `EINPUT` naming it; no key is `EUSAGE`.
 * The same state and key give the same bytes.
 * @example
 * const bytes = await exportAgent(store, 'agent-1', { key: operatorKey, history: true })
 * writeFileSync('agent-1.mcp0a', bytes)
 */
export async function exportAgent(store: ArchiveStore, agent: string, options: ExportOptions): Promise<Uint8Array> {
  const name = checkAgentArg(agent);
  const key = checkKey(options?.key);
  const history = options.history === true;
  const ref = await store.blocks.refGet(STORAGE_MODULE, headRef(name));
  if (!ref) throw new Mcp0Error('ENOTFOUND', `agent ${JSON.stringify(name)} has no state: no ref ${headRef(name)} in ${STORAGE_MODULE}`, { agent: name });
  if (ref.root.length !== 32)
    throw new Mcp0Error('EINPUT', `ref ${headRef(name)} names a ${ref.root.length}-byte root, expected a 32-byte commit id`, { agent: name });
  const get = async (id: Uint8Array, from: string | null): Promise<Uint8Array> => {
    const bytes = await store.blocks.get(id);
    if (bytes === undefined) {
      if (hex(id) === hex(EMPTY_TREE_ID)) return EMPTY_TREE;
      throw new Mcp0Error('ENOTFOUND', `block ${hex(id)} is missing from the store${from ? ` (referenced by ${from})` : ' (the head commit)'}`, {
        block: hex(id),
        from,
      });
    }
    if (hex(sha256(bytes)) !== hex(id)) throw new Mcp0Error('EINTERNAL', `block ${hex(id)}: the store answered bytes with another hash`, { block: hex(id) });
    return bytes;
  };
  let head = ref.root;
  let blocks: Map<string, Uint8Array>;
  if (history) blocks = await walk(head, true, get);
  else {
    // Self-contained: the current state under a root commit, so nothing names a block left behind.
    const root = rootCommit(await get(ref.root, null), ref.root);
    head = root.id;
    blocks = await walk(head, false, (id, from) => (hex(id) === hex(root.id) ? root.bytes : get(id, from)));
  }
  // Sealed as a reader will find it: a first commit has no parent chain to hold.
  const chain = history && readCommit(blocks.get(hex(head))!, head).parent !== null;
  const seal = sealArchive({ format: ARCHIVE_FORMAT, agent: name, head: hex(head), history: chain, blocks: blocks.size }, key);
  return encodeCbor({ format: ARCHIVE_FORMAT, agent: name, head, blocks: [...blocks.values()], seal });
}

/**
 * The root commit of the state a commit block holds: the same commit with no parent and seq 1 (any
 * other field kept as it is, so the tree and whatever else the format carries are unchanged). A
 * commit that is already a root comes back as it is. EINPUT when the block is not a commit.
 */
function rootCommit(bytes: Uint8Array, id: Uint8Array): { id: Uint8Array; bytes: Uint8Array } {
  let v: CborValue;
  try {
    v = decodeCbor(bytes);
  } catch (e) {
    throw new Mcp0Error('EINPUT', `block ${hex(id)}: expected a commit (deterministic CBOR), ${(e as Error).message}`, { block: hex(id) });
  }
  if (!isMap(v) || !('parent' in v) || !('seq' in v))
    throw new Mcp0Error('EINPUT', `block ${hex(id)}: expected a commit map {tree, parent, seq}`, { block: hex(id) });
  if (v.parent === null && v.seq === 1) return { id, bytes };
  const rooted = encodeCbor({ ...v, parent: null, seq: 1 });
  const rootId = sha256(rooted);
  readCommit(rooted, rootId); // what is archived reads as a commit of the storage format
  return { id: rootId, bytes: rooted };
}

function checkKey(key: unknown): PrivateKey {
  const k = key as { type?: unknown; seed?: unknown; kid?: unknown } | undefined;
  if (k?.type !== 'private' || !(k.seed instanceof Uint8Array) || typeof k.kid !== 'string') {
    throw new UsageError(
      'EUSAGE',
      `exportAgent: options.key: expected the exporting operator's private key (it seals the archive), got ${k?.type === 'public' ? 'a public key' : key === undefined ? 'none' : typeof key}`,
    );
  }
  return k as PrivateKey;
}

function checkTrust(options: unknown): readonly PublicKey[] {
  const trust = (options as Partial<ReadOptions> | undefined)?.trust;
  if (!Array.isArray(trust))
    throw new UsageError(
      'EUSAGE',
      `options.trust: expected the public keys trusted to seal archives (an array), got ${trust === undefined ? 'none' : typeof trust}`,
    );
  return trust;
}

function checkAgentArg(agent: unknown): string {
  try {
    return checkAgent(agent);
  } catch (e) {
    throw new Mcp0Error('EUSAGE', (e as Error).message.replace(/^archive: /, ''), (e as Mcp0Error).details);
  }
}

/**
 * Decodes and verifies archive bytes without touching any store: the format, the seal (signed by
 * one of `options.trust`, and vouching for exactly this archive's format, agent, head, history and
 * block count), every block's hash, and that the blocks are exactly those reachable from the head
 * (none missing, none extra, in walk order). A seal that is missing, untrusted, altered or taken
 * from another archive is `ESIGNATURE` naming what differs (the signer and the trusted ids, or both
 * values); a version 1 archive is `ESIGNATURE` (it predates seals); anything else wrong is `EINPUT`.
 * @example
 * const { agent, signer, root, blocks } = await readArchive(bytes, { trust: [operatorPublicKey] })
 */
export async function readArchive(bytes: Uint8Array, options: ReadOptions): Promise<ArchiveInfo> {
  const trust = checkTrust(options);
  const fields = decodeArchive(bytes);
  const { agent, head, list } = checkMembers(fields);
  // The seal first: an untrusted or mismatched archive is refused before any block is looked at.
  const seal = verifySeal(fields.seal, trust);
  checkSealCovers(seal.body, { format: ARCHIVE_FORMAT, agent, head: hex(head), blocks: list.length });
  const byId = hashBlocks(list);
  const headBytes = byId.get(hex(head));
  if (!headBytes) throw input(`the head commit ${hex(head)} is not among the blocks (missing, or altered so its hash changed)`, { block: hex(head) });
  // A history archive holds the head's parent (and so the whole chain); a current-state one none.
  const first = wrap(() => readCommit(headBytes, head));
  const history = first.parent !== null && byId.has(hex(first.parent));
  checkSealCovers(seal.body, { history });
  const reached = await wrapAsync(() =>
    walk(head, history, (id, from) => {
      const b = byId.get(hex(id));
      if (!b) throw input(`block ${hex(id)} referenced by ${from} is missing (dropped, or altered so its hash changed)`, { block: hex(id), from });
      return b;
    }),
  );
  if (reached.size !== byId.size) {
    const extra = [...byId.keys()].filter((id) => !reached.has(id));
    throw input(`${extra.length} block(s) are not referenced from the head, e.g. ${extra[0]} (an extra block, or a block altered so its hash changed)`, {
      blocks: extra.slice(0, 10),
    });
  }
  checkOrder([...byId.keys()], [...reached.keys()]);
  return { agent, signer: seal.signer, head, root: first.tree, blocks: list, history };
}

/**
 * The key id an archive's seal names as its signer, unverified: for looking a key up among those
 * the operator trusts (the CLI's keyring), never as a reason to trust it. Null when the bytes are
 * not an archive with a seal.
 * @example
 * const kid = archiveSigner(bytes) // then: findInKeyring(kid), and readArchive(bytes, { trust: [found] })
 */
export function archiveSigner(bytes: Uint8Array): string | null {
  try {
    const v = decodeCbor(bytes);
    return isMap(v) ? namedSigner(v.seal) : null;
  } catch {
    return null;
  }
}

const isMap = (v: CborValue): v is Record<string, CborValue> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

/** The archive's top-level map, in its one encoding, of a format this version reads. */
function decodeArchive(bytes: Uint8Array): Record<string, CborValue> {
  if (!(bytes instanceof Uint8Array)) throw input(`expected bytes, got ${typeof bytes}`);
  let v: CborValue;
  try {
    v = decodeCbor(bytes);
  } catch (e) {
    throw input(`not a complete CBOR archive (${bytes.length} bytes; truncated or not an archive): ${(e as Error).message}`, { length: bytes.length });
  }
  if (!isMap(v)) throw input('expected a map {format, agent, head, blocks, seal}');
  checkFormat(v);
  // One encoding only: then no byte of an accepted archive lies outside what the seal and the block
  // hashes pin down (the decoder alone accepts map keys in any order).
  if (Buffer.compare(encodeCbor(v), bytes) !== 0)
    throw input('not in deterministic CBOR (RFC 8949 §4.2.1): it re-encodes to other bytes; archives are written by export, never edited');
  return v;
}

function checkFormat(fields: Record<string, CborValue>): void {
  const { format, agent } = fields;
  if (format === UNSEALED_FORMAT) {
    throw new Mcp0Error(
      'ESIGNATURE',
      `archive: format ${UNSEALED_FORMAT} predates seals: nothing says who exported it or that its state belongs to ${typeof agent === 'string' ? `agent ${JSON.stringify(agent)}` : 'the agent it names'}, so it is not imported. Re-export the agent from its store with the exporting operator's key (mcp0 store export --key <file>), which writes ${ARCHIVE_FORMAT}`,
      { reason: 'unsealed', format },
    );
  }
  if (format !== ARCHIVE_FORMAT)
    throw input(`format: expected ${JSON.stringify(ARCHIVE_FORMAT)}, got ${JSON.stringify(typeof format === 'string' ? format : (format ?? null))}`);
  if (!('seal' in fields)) {
    throw new Mcp0Error(
      'ESIGNATURE',
      `archive: no seal: a ${ARCHIVE_FORMAT} archive carries its exporter's seal, this one none, so nothing says who exported it or that it belongs to the agent it names`,
      { reason: 'unsealed', format },
    );
  }
}

function checkMembers(fields: Record<string, CborValue>): { agent: string; head: Uint8Array; list: Uint8Array[] } {
  const keys = Object.keys(fields).sort();
  if (keys.join(',') !== 'agent,blocks,format,head,seal') throw input(`expected the keys agent, blocks, format, head, seal, got ${keys.join(', ')}`);
  const agent = checkAgent(fields.agent);
  const head = fields.head;
  if (!(head instanceof Uint8Array) || head.length !== 32) throw input('head: expected a 32-byte commit id');
  const list = fields.blocks;
  if (!Array.isArray(list) || list.length === 0) throw input('blocks: expected a non-empty array of byte strings');
  list.forEach((b, i) => {
    if (!(b instanceof Uint8Array)) throw input(`blocks[${i}]: expected bytes`);
    if (b.length > LIMITS.blockBytes) throw input(`blocks[${i}]: ${b.length} bytes, more than a block may hold (${LIMITS.blockBytes})`);
  });
  return { agent, head, list: list as Uint8Array[] };
}

/** Every block by its id (hex SHA-256), in archive order; a block listed twice is refused. */
function hashBlocks(list: Uint8Array[]): Map<string, Uint8Array> {
  const byId = new Map<string, Uint8Array>();
  list.forEach((b, i) => {
    const id = hex(sha256(b));
    if (byId.has(id)) throw input(`blocks[${i}]: block ${id} appears twice`, { block: id });
    byId.set(id, b);
  });
  return byId;
}

/** The blocks in the order export walks them: with it, the archive has one form for its content. */
function checkOrder(listed: string[], walked: string[]): void {
  const at = listed.findIndex((id, i) => id !== walked[i]);
  if (at >= 0)
    throw input(`blocks[${at}]: expected block ${walked[at]} (archives list blocks in the order export walks them from the head), got ${listed[at]}`, {
      index: at,
      expected: walked[at],
      got: listed[at],
    });
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof Mcp0Error && e.code === 'EINPUT' && !e.message.startsWith('archive: ') ? input(e.message, { ...e.details }) : e;
  }
}

async function wrapAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw e instanceof Mcp0Error && e.code === 'EINPUT' && !e.message.startsWith('archive: ') ? input(e.message, { ...e.details }) : e;
  }
}

/**
 * Verifies archive bytes against `options.trust` (see `readArchive`), then writes every block
 * (put-if-absent) and moves the head ref `head/<agent>` of `mcp0.storage` to the archived commit
 * with a compare-and-swap from its current version; `<agent>` is the name the seal vouches for.
 * Nothing is written unless the whole archive verifies. When the agent already has a different
 * head, it is `ECONFLICT` unless `force`; the same head is a no-op. An archive without history whose
 * head still names a parent (exported before archives were self-contained) is imported under the
 * root commit of that state instead, so the store never holds a head whose parent is missing;
 * `head` in the result is the commit written.
 * @example
 * const { agent, signer, root, version } = await importAgent(store, readFileSync('agent-1.mcp0a'), { trust: [operatorPublicKey] })
 */
export async function importAgent(store: ArchiveStore, archive: Uint8Array, options: ImportOptions): Promise<ImportResult> {
  const a = await readArchive(archive, options);
  const name = headRef(a.agent);
  // The head commit comes first (walk order); without history it must not name a parent.
  let head = a.head;
  let blocks = a.blocks;
  if (!a.history) {
    const root = rootCommit(a.blocks[0]!, a.head);
    head = root.id;
    blocks = [root.bytes, ...a.blocks.slice(1)];
  }
  const current = await store.blocks.refGet(STORAGE_MODULE, name);
  const result = (version: number): ImportResult => ({
    agent: a.agent,
    signer: a.signer,
    root: a.root,
    head,
    version,
    blocks: a.blocks.length,
    bytes: a.blocks.reduce((n, b) => n + b.length, 0),
  });
  const same = current !== undefined && hex(current.root) === hex(head);
  if (current && !same && options.force !== true) {
    throw new Mcp0Error(
      'ECONFLICT',
      `agent ${JSON.stringify(a.agent)} already has another head (${hex(current.root)}, version ${current.version}); import with force to replace it`,
      {
        agent: a.agent,
        current: hex(current.root),
        archived: hex(head),
      },
    );
  }
  // Children before parents, like the plugin: a crash in between leaves only unreferenced blocks.
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  for (const b of [...blocks].reverse()) {
    // At most 1,024 blocks and 16 MiB per put.
    if (batch.length === LIMITS.blocksPerCall || (batch.length > 0 && batchBytes + b.length > 16 << 20)) {
      await store.blocks.put(batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push(b);
    batchBytes += b.length;
  }
  if (batch.length > 0) await store.blocks.put(batch);
  if (same) return result(current.version);
  const version = await store.blocks.refCas(STORAGE_MODULE, name, current?.version ?? 0, head);
  return result(version);
}
