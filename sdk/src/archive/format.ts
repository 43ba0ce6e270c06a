/**
 * A small reader of the `mcp0.storage` ("HeapBT") block format (plugins/storage/README.md "Block and
 * node format"): commit blocks `{tree, parent, seq, salt?}`, raw value blocks, and tree nodes of both
 * versions, which one tree may mix (a store written before version 2 keeps its unchanged subtrees):
 * - version 2, `[2, level, [item, ...]]` with front-coded keys: leaf items `[shared, suffix, value]` or
 *   `[shared, suffix, valueId, size]`, internal items `[shared, suffix, childId]`, where the key is
 *   the first `shared` bytes of the previous item's key followed by `suffix`;
 * - version 1, `[level, [item, ...]]`: leaf items `[key, value]` or `[key, valueId, size]`, internal
 *   items `[lastKey, childId]`.
 * The empty tree is `[0, []]` in both. It only checks shapes (and that keys increase) and collects
 * the ids a block references; it never rebuilds a tree.
 */
import { type CborValue, Mcp0Error, decodeCbor } from '@mcp0/abi';
import { sha256 } from '../store/codec.js';

/**
 * The plugin whose state an archive holds; its module name is the ref namespace.
 * @example
 * const ref = await store.blocks.refGet(STORAGE_MODULE, headRef('agent-1'))
 */
export const STORAGE_MODULE = 'mcp0.storage';

/**
 * The ref naming an agent's latest commit, in the namespace `STORAGE_MODULE`.
 * @example
 * headRef('agent-1') // 'head/agent-1'
 */
export const headRef = (agent: string): string => `head/${agent}`;

/**
 * The empty tree `[0, []]` (the same bytes in both node versions): the plugin never needs it
 * stored, an archive always carries it.
 * @example
 * if (bytes === undefined && hex(id) === hex(EMPTY_TREE_ID)) return EMPTY_TREE
 */
export const EMPTY_TREE = Uint8Array.of(0x82, 0x00, 0x80);
/**
 * The id (SHA-256) of `EMPTY_TREE`: the tree of a commit whose state holds no keys.
 * @example
 * hex(readCommit(bytes, id).tree) === hex(EMPTY_TREE_ID) // the commit holds no keys
 */
export const EMPTY_TREE_ID = sha256(EMPTY_TREE);

/**
 * Values at most this long are stored inline in a leaf.
 * @example
 * const inline = value.length <= INLINE_VALUE_BYTES // else its own block, referenced as [key, valueId, size]
 */
export const INLINE_VALUE_BYTES = 64;

/**
 * Lower-case hex of `b`: how block ids appear in messages, details and map keys.
 * @example
 * hex(Uint8Array.of(1, 255)) // '01ff'
 */
export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * What a block is expected to be, from what references it.
 * @example
 * const expect: BlockKind = { kind: 'node', level: null } // a commit's tree root, of any level
 */
export type BlockKind = { kind: 'commit' } | { kind: 'node'; level: number | null } | { kind: 'value'; size: number };

/**
 * Bytes of an agent's salt in its commits (the key of the boundary hash; version 2).
 * @example
 * readCommit(bytes, id).salt?.length === SALT_BYTES
 */
export const SALT_BYTES = 16;

/**
 * A commit block. `salt` is null in a commit written before salts (format version 1).
 * @example
 * const { tree, parent, seq, salt }: Commit = readCommit(bytes, id)
 */
export interface Commit {
  tree: Uint8Array;
  parent: Uint8Array | null;
  seq: number;
  salt: Uint8Array | null;
}

/**
 * A reference from one block to another.
 * @example
 * for (const { id, expect } of readBlock(bytes, blockId, { kind: 'commit' }, true)) stack.push({ id, expect })
 */
export interface BlockRef {
  id: Uint8Array;
  expect: BlockKind;
}

const bad = (what: string, id: Uint8Array, details: Record<string, unknown> = {}): Mcp0Error =>
  new Mcp0Error('EINPUT', `block ${hex(id)}: ${what}`, { block: hex(id), ...details });

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isId = (v: unknown): v is Uint8Array => isBytes(v) && v.length === 32;
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function decode(bytes: Uint8Array, id: Uint8Array, kind: string): CborValue {
  try {
    return decodeCbor(bytes);
  } catch (e) {
    throw bad(`expected a ${kind} (deterministic CBOR), ${(e as Error).message}`, id);
  }
}

/**
 * Decodes a commit block `{parent, seq, tree}` (version 1) or `{parent, salt, seq, tree}`.
 * @example
 * const { tree, parent, seq } = readCommit(bytes, id) // seq 1 has no parent
 */
export function readCommit(bytes: Uint8Array, id: Uint8Array): Commit {
  const v = decode(bytes, id, 'commit');
  if (v === null || typeof v !== 'object' || Array.isArray(v) || isBytes(v)) throw bad('expected a commit map {tree, parent, seq, salt?}', id);
  const keys = Object.keys(v).sort();
  if (keys.join(',') !== 'parent,seq,tree' && keys.join(',') !== 'parent,salt,seq,tree') {
    throw bad(`expected a commit with the keys parent, seq, tree (and salt), got ${keys.join(', ') || 'none'}`, id);
  }
  const { tree, parent, seq, salt } = v as Record<string, CborValue>;
  if (!isId(tree)) throw bad('commit tree: expected a 32-byte id', id);
  if (parent !== null && !isId(parent)) throw bad('commit parent: expected a 32-byte id or null', id);
  if (!isUint(seq) || seq < 1) throw bad('commit seq: expected an integer ≥ 1', id);
  // A first commit has no parent; a later one may have none too, where gc's `keep` cut the history
  // below it (the plugin rewrites the oldest kept commit with a null parent and its seq unchanged).
  if (seq === 1 && parent !== null) throw bad('commit seq 1 cannot have a parent', id);
  if (salt !== undefined && !(isBytes(salt) && salt.length === SALT_BYTES)) throw bad(`commit salt: expected ${SALT_BYTES} bytes`, id);
  return { tree, parent, seq, salt: salt === undefined ? null : salt };
}

/** Bytewise order of keys: negative when a < b. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Keys are at most this many bytes (the plugin refuses longer ones); checked in version 2 nodes. */
const KEY_BYTES = 1024;

/**
 * Decodes a tree node of either version and returns the blocks it references (children, or
 * out-of-line values).
 * @example
 * const children = readNode(bytes, commit.tree, null) // null: the root may be of any level
 */
export function readNode(bytes: Uint8Array, id: Uint8Array, expectLevel: number | null): BlockRef[] {
  const v = decode(bytes, id, 'tree node');
  if (!Array.isArray(v) || (v.length !== 2 && v.length !== 3)) throw bad('expected a tree node [2, level, [item, ...]] or [level, [item, ...]]', id);
  if (v.length === 3) return readNodeV2(v, id, expectLevel);
  if (!isUint(v[0]) || !Array.isArray(v[1])) throw bad('expected a tree node [level, [item, ...]]', id);
  const level = v[0];
  const items = v[1];
  if (expectLevel !== null && level !== expectLevel) throw bad(`expected a level ${expectLevel} node, got level ${level}`, id);
  if (items.length === 0 && level !== 0) throw bad('an internal node with no children', id);
  const refs: BlockRef[] = [];
  let prev: Uint8Array | null = null;
  items.forEach((item, i) => {
    if (!Array.isArray(item) || !isBytes(item[0])) throw bad(`item ${i}: expected [key: bytes, ...]`, id);
    const key = item[0];
    if (prev !== null && compareBytes(prev, key) >= 0) throw bad(`item ${i}: keys are not in strictly increasing order`, id);
    prev = key;
    if (level === 0) {
      if (item.length === 2 && isBytes(item[1])) {
        if (item[1].length > INLINE_VALUE_BYTES) throw bad(`item ${i}: an inline value of ${item[1].length} bytes (at most ${INLINE_VALUE_BYTES})`, id);
      } else if (item.length === 3 && isId(item[1]) && isUint(item[2])) {
        if (item[2] <= INLINE_VALUE_BYTES) throw bad(`item ${i}: an out-of-line value of ${item[2]} bytes (more than ${INLINE_VALUE_BYTES} expected)`, id);
        refs.push({ id: item[1], expect: { kind: 'value', size: item[2] } });
      } else throw bad(`item ${i}: expected [key, value] or [key, valueId, size]`, id);
    } else {
      if (item.length !== 2 || !isId(item[1])) throw bad(`item ${i}: expected [lastKey, childId(32)]`, id);
      refs.push({ id: item[1], expect: { kind: 'node', level: level - 1 } });
    }
  });
  return refs;
}

/** A version 2 node `[2, level, items]`: front-coded keys, strictly increasing, each prefix taken whole. */
function readNodeV2(v: CborValue[], id: Uint8Array, expectLevel: number | null): BlockRef[] {
  const [version, level, items] = v;
  if (version !== 2 || !isUint(level) || !Array.isArray(items)) throw bad('expected a tree node [2, level, [item, ...]]', id);
  if (expectLevel !== null && level !== expectLevel) throw bad(`expected a level ${expectLevel} node, got level ${level}`, id);
  if (items.length === 0) throw bad('an empty version 2 node (the empty tree is [0, []])', id);
  const refs: BlockRef[] = [];
  let prev = new Uint8Array(0);
  items.forEach((item, i) => {
    if (!Array.isArray(item) || !isUint(item[0]) || !isBytes(item[1])) throw bad(`item ${i}: expected [shared, suffix: bytes, ...]`, id);
    const shared = item[0];
    const suffix = item[1];
    if (shared > prev.length || (i === 0 && shared !== 0)) throw bad(`item ${i}: shares ${shared} bytes with a previous key of ${prev.length}`, id);
    // The key increases, and shares exactly `shared` bytes with the previous one (a unique encoding).
    if (suffix.length === 0 || (shared < prev.length && suffix[0]! <= prev[shared]!))
      throw bad(`item ${i}: keys are not in strictly increasing order, or a shared prefix is not taken whole`, id);
    const key = new Uint8Array(shared + suffix.length);
    key.set(prev.subarray(0, shared));
    key.set(suffix, shared);
    if (key.length > KEY_BYTES) throw bad(`item ${i}: a key of ${key.length} bytes (at most ${KEY_BYTES})`, id);
    prev = key;
    if (level === 0) {
      if (item.length === 3 && isBytes(item[2])) {
        if (item[2].length > INLINE_VALUE_BYTES) throw bad(`item ${i}: an inline value of ${item[2].length} bytes (at most ${INLINE_VALUE_BYTES})`, id);
      } else if (item.length === 4 && isId(item[2]) && isUint(item[3])) {
        if (item[3] <= INLINE_VALUE_BYTES) throw bad(`item ${i}: an out-of-line value of ${item[3]} bytes (more than ${INLINE_VALUE_BYTES} expected)`, id);
        refs.push({ id: item[2], expect: { kind: 'value', size: item[3] } });
      } else throw bad(`item ${i}: expected [shared, suffix, value] or [shared, suffix, valueId, size]`, id);
    } else {
      if (item.length !== 3 || !isId(item[2])) throw bad(`item ${i}: expected [shared, suffix, childId(32)]`, id);
      refs.push({ id: item[2], expect: { kind: 'node', level: level - 1 } });
    }
  });
  return refs;
}

/**
 * The blocks `bytes` references, checked against what it was expected to be.
 * @example
 * const refs = readBlock(bytes, id, { kind: 'commit' }, true) // the tree, and the parent commit
 */
export function readBlock(bytes: Uint8Array, id: Uint8Array, expect: BlockKind, history: boolean): BlockRef[] {
  if (expect.kind === 'value') {
    if (bytes.length !== expect.size) throw bad(`value of ${bytes.length} bytes, its leaf says ${expect.size}`, id);
    return [];
  }
  if (expect.kind === 'node') return readNode(bytes, id, expect.level);
  const c = readCommit(bytes, id);
  const refs: BlockRef[] = [{ id: c.tree, expect: { kind: 'node', level: null } }];
  if (history && c.parent) refs.push({ id: c.parent, expect: { kind: 'commit' } });
  return refs;
}

/**
 * Walks every block reachable from the commit `head` (with `history`, through the parent chain),
 * once each, in discovery order (depth first, the head first). `get` answers a block's verified
 * bytes or throws.
 * @example
 * const blocks = await walk(ref.root, false, async (id) => (await store.blocks.get(id))!)
 */
export async function walk(
  head: Uint8Array,
  history: boolean,
  get: (id: Uint8Array, from: string | null) => Uint8Array | Promise<Uint8Array>,
): Promise<Map<string, Uint8Array>> {
  const seen = new Map<string, Uint8Array>();
  const stack: { ref: BlockRef; from: string | null }[] = [{ ref: { id: head, expect: { kind: 'commit' } }, from: null }];
  while (stack.length > 0) {
    const { ref, from } = stack.pop()!;
    const key = hex(ref.id);
    if (seen.has(key)) continue; // shared subtrees (and values) between versions
    const bytes = await get(ref.id, from);
    seen.set(key, bytes);
    const refs = readBlock(bytes, ref.id, ref.expect, history);
    for (let i = refs.length - 1; i >= 0; i--) stack.push({ ref: refs[i]!, from: key });
  }
  return seen;
}
