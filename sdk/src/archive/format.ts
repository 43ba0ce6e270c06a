/**
 * A small reader of the `mcp0.storage` ("HeapBT") block format, version 1 (plugins/storage/README.md
 * "Block and node format"): commit blocks `{tree, parent, seq}`, leaf nodes `[0, [[key, value] |
 * [key, valueId, size], ...]]`, internal nodes `[L, [[lastKey, childId], ...]]`, raw value blocks.
 * It only checks shapes and collects the ids a block references; it never rebuilds a tree.
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
 * The empty tree `[0, []]`: the plugin never needs it stored, an archive always carries it.
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
 * A commit block.
 * @example
 * const { tree, parent, seq }: Commit = readCommit(bytes, id)
 */
export interface Commit {
  tree: Uint8Array;
  parent: Uint8Array | null;
  seq: number;
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
 * Decodes a commit block `{parent, seq, tree}`.
 * @example
 * const { tree, parent, seq } = readCommit(bytes, id) // parent is null exactly when seq is 1
 */
export function readCommit(bytes: Uint8Array, id: Uint8Array): Commit {
  const v = decode(bytes, id, 'commit');
  if (v === null || typeof v !== 'object' || Array.isArray(v) || isBytes(v)) throw bad('expected a commit map {tree, parent, seq}', id);
  const keys = Object.keys(v).sort();
  if (keys.join(',') !== 'parent,seq,tree') throw bad(`expected a commit with the keys parent, seq, tree, got ${keys.join(', ') || 'none'}`, id);
  const { tree, parent, seq } = v as Record<string, CborValue>;
  if (!isId(tree)) throw bad('commit tree: expected a 32-byte id', id);
  if (parent !== null && !isId(parent)) throw bad('commit parent: expected a 32-byte id or null', id);
  if (!isUint(seq) || seq < 1) throw bad('commit seq: expected an integer ≥ 1', id);
  if ((parent === null) !== (seq === 1)) throw bad(`commit seq ${seq} does not match its parent (${parent === null ? 'none' : 'present'})`, id);
  return { tree, parent, seq };
}

/** Bytewise order of keys: negative when a < b. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Decodes a tree node and returns the blocks it references (children, or out-of-line values).
 * @example
 * const children = readNode(bytes, commit.tree, null) // null: the root may be of any level
 */
export function readNode(bytes: Uint8Array, id: Uint8Array, expectLevel: number | null): BlockRef[] {
  const v = decode(bytes, id, 'tree node');
  if (!Array.isArray(v) || v.length !== 2 || !isUint(v[0]) || !Array.isArray(v[1])) throw bad('expected a tree node [level, [item, ...]]', id);
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
      } else throw bad(`item ${i}: expected [key, value] or [key, valueId(32), size]`, id);
    } else {
      if (item.length !== 2 || !isId(item[1])) throw bad(`item ${i}: expected [lastKey, childId(32)]`, id);
      refs.push({ id: item[1], expect: { kind: 'node', level: level - 1 } });
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
export async function walk(head: Uint8Array, history: boolean, get: (id: Uint8Array, from: string | null) => Uint8Array | Promise<Uint8Array>): Promise<Map<string, Uint8Array>> {
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
