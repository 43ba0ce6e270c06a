/**
 * Backup and restore of one agent's `mcp0.storage` state as a self-verifying archive: deterministic
 * CBOR `{format: "mcp0.archive/1", agent, head: commitId, blocks: [bytes, ...]}` holding exactly
 * the blocks reachable from the head commit (its tree nodes and out-of-line values; with history
 * also every parent commit and its tree). Import re-hashes every block and walks the structure from
 * the head before writing anything.
 */
import { LIMITS, Mcp0Error, decodeCbor, encodeCbor, type CborValue } from '@mcp0/abi';
import type { BlockProvider } from '@mcp0/kernel';
import { sha256 } from '../store/codec.js';
import { EMPTY_TREE, EMPTY_TREE_ID, STORAGE_MODULE, headRef, hex, readCommit, walk } from './format.js';

/**
 * The `format` field of version 1 archives.
 * @example
 * (decodeCbor(bytes) as { format?: unknown }).format === ARCHIVE_FORMAT
 */
export const ARCHIVE_FORMAT = 'mcp0.archive/1';

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
 * const bytes = await exportAgent(store, 'agent-1', { history: true })
 */
export interface ExportOptions {
  /** Also archive every earlier version (the parent commits and their trees). Default false. */
  history?: boolean;
}

/**
 * Options of `importAgent`.
 * @example
 * await importAgent(store, bytes, { force: true }) // replaces a different head
 */
export interface ImportOptions {
  /** Move the head even when the agent already has a different one. Default false. */
  force?: boolean;
}

/**
 * What an archive holds, once verified.
 * @example
 * const info: ArchiveInfo = await readArchive(bytes)
 * console.log(info.agent, Buffer.from(info.root).toString('hex'), info.blocks.length, info.history)
 */
export interface ArchiveInfo {
  agent: string;
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
 * const { agent, version, blocks, bytes }: ImportResult = await importAgent(store, archive)
 */
export interface ImportResult {
  agent: string;
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
 * Exports `agent`'s state (the head commit and everything reachable from it) as archive bytes. Every
 * block read is checked against its id and decoded per the storage plugin's format. An agent without
 * a head is `ENOTFOUND`; a missing or malformed block is `ENOTFOUND` / `EINPUT` naming it.
 * @example
 * const bytes = await exportAgent(store, 'agent-1', { history: true })
 * writeFileSync('agent-1.mcp0a', bytes)
 */
export async function exportAgent(store: ArchiveStore, agent: string, options: ExportOptions = {}): Promise<Uint8Array> {
  const name = checkAgentArg(agent);
  const history = options.history === true;
  const ref = await store.blocks.refGet(STORAGE_MODULE, headRef(name));
  if (!ref) throw new Mcp0Error('ENOTFOUND', `agent ${JSON.stringify(name)} has no state: no ref ${headRef(name)} in ${STORAGE_MODULE}`, { agent: name });
  if (ref.root.length !== 32) throw new Mcp0Error('EINPUT', `ref ${headRef(name)} names a ${ref.root.length}-byte root, expected a 32-byte commit id`, { agent: name });
  const blocks = await walk(ref.root, history, async (id, from) => {
    const bytes = await store.blocks.get(id);
    if (bytes === undefined) {
      if (hex(id) === hex(EMPTY_TREE_ID)) return EMPTY_TREE;
      throw new Mcp0Error('ENOTFOUND', `block ${hex(id)} is missing from the store${from ? ` (referenced by ${from})` : ' (the head commit)'}`, { block: hex(id), from });
    }
    if (hex(sha256(bytes)) !== hex(id)) throw new Mcp0Error('EINTERNAL', `block ${hex(id)}: the store answered bytes with another hash`, { block: hex(id) });
    return bytes;
  });
  return encodeCbor({ format: ARCHIVE_FORMAT, agent: name, head: ref.root, blocks: [...blocks.values()] });
}

function checkAgentArg(agent: unknown): string {
  try {
    return checkAgent(agent);
  } catch (e) {
    throw new Mcp0Error('EUSAGE', (e as Error).message.replace(/^archive: /, ''), (e as Mcp0Error).details);
  }
}

/**
 * Decodes and verifies archive bytes without touching any store: the format, every block's hash,
 * and that the blocks are exactly those reachable from the head (none missing, none extra).
 * Anything wrong is `EINPUT` saying what.
 * @example
 * const { agent, root, blocks } = await readArchive(bytes)
 */
export async function readArchive(bytes: Uint8Array): Promise<ArchiveInfo> {
  if (!(bytes instanceof Uint8Array)) throw input(`expected bytes, got ${typeof bytes}`);
  let v: CborValue;
  try {
    v = decodeCbor(bytes);
  } catch (e) {
    throw input(`not a complete CBOR archive (${bytes.length} bytes; truncated or not an archive): ${(e as Error).message}`, { length: bytes.length });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw input('expected a map {format, agent, head, blocks}');
  const fields = v as Record<string, CborValue>;
  if (fields.format !== ARCHIVE_FORMAT) throw input(`format: expected ${JSON.stringify(ARCHIVE_FORMAT)}, got ${JSON.stringify(typeof fields.format === 'string' ? fields.format : (fields.format ?? null))}`);
  const keys = Object.keys(fields).sort();
  if (keys.join(',') !== 'agent,blocks,format,head') throw input(`expected the keys agent, blocks, format, head, got ${keys.join(', ')}`);
  const agent = checkAgent(fields.agent);
  const head = fields.head;
  if (!(head instanceof Uint8Array) || head.length !== 32) throw input('head: expected a 32-byte commit id');
  const list = fields.blocks;
  if (!Array.isArray(list) || list.length === 0) throw input('blocks: expected a non-empty array of byte strings');
  const byId = new Map<string, Uint8Array>();
  list.forEach((b, i) => {
    if (!(b instanceof Uint8Array)) throw input(`blocks[${i}]: expected bytes`);
    if (b.length > LIMITS.blockBytes) throw input(`blocks[${i}]: ${b.length} bytes, more than a block may hold (${LIMITS.blockBytes})`);
    const id = hex(sha256(b));
    if (byId.has(id)) throw input(`blocks[${i}]: block ${id} appears twice`, { block: id });
    byId.set(id, b);
  });
  const headBytes = byId.get(hex(head));
  if (!headBytes) throw input(`the head commit ${hex(head)} is not among the blocks (missing, or altered so its hash changed)`, { block: hex(head) });
  // A history archive holds the head's parent (and so the whole chain); a current-state one none.
  const first = wrap(() => readCommit(headBytes, head));
  const history = first.parent !== null && byId.has(hex(first.parent));
  const reached = await wrapAsync(() =>
    walk(head, history, (id, from) => {
      const b = byId.get(hex(id));
      if (!b) throw input(`block ${hex(id)} referenced by ${from} is missing (dropped, or altered so its hash changed)`, { block: hex(id), from });
      return b;
    }),
  );
  if (reached.size !== byId.size) {
    const extra = [...byId.keys()].filter((id) => !reached.has(id));
    throw input(`${extra.length} block(s) are not referenced from the head, e.g. ${extra[0]} (an extra block, or a block altered so its hash changed)`, { blocks: extra.slice(0, 10) });
  }
  return { agent, head, root: first.tree, blocks: list as Uint8Array[], history };
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
 * Verifies archive bytes (see `readArchive`), then writes every block (put-if-absent) and moves the
 * head ref `head/<agent>` of `mcp0.storage` to the archived commit with a compare-and-swap from its
 * current version. Nothing is written unless the whole archive verifies. When the agent already has
 * a different head, it is `ECONFLICT` unless `force`; the same head is a no-op.
 * @example
 * const { agent, root, version } = await importAgent(store, readFileSync('agent-1.mcp0a'))
 */
export async function importAgent(store: ArchiveStore, archive: Uint8Array, options: ImportOptions = {}): Promise<ImportResult> {
  const a = await readArchive(archive);
  const name = headRef(a.agent);
  const current = await store.blocks.refGet(STORAGE_MODULE, name);
  const result = (version: number): ImportResult => ({
    agent: a.agent,
    root: a.root,
    head: a.head,
    version,
    blocks: a.blocks.length,
    bytes: a.blocks.reduce((n, b) => n + b.length, 0),
  });
  const same = current !== undefined && hex(current.root) === hex(a.head);
  if (current && !same && options.force !== true) {
    throw new Mcp0Error('ECONFLICT', `agent ${JSON.stringify(a.agent)} already has another head (${hex(current.root)}, version ${current.version}); import with force to replace it`, {
      agent: a.agent,
      current: hex(current.root),
      archived: hex(a.head),
    });
  }
  // Children before parents, like the plugin: a crash in between leaves only unreferenced blocks.
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  for (const b of [...a.blocks].reverse()) {
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
  const version = await store.blocks.refCas(STORAGE_MODULE, name, current?.version ?? 0, a.head);
  return result(version);
}
