// An independent reader of the block formats in README.md ("Block and node format", "Boundaries"),
// written from the README and not from the plugin: node versions 1 and 2, commits, SipHash-2-4 and
// the boundary rule. The tests use it to walk and check what the plugin wrote.
import { createHash } from 'node:crypto';
import { decodeCbor, encodeCbor } from '@mcp0/abi';

export const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The empty tree `[0, []]`, the same bytes in both versions. */
export const EMPTY_TREE = Uint8Array.of(0x82, 0x00, 0x80);

/** One item of a node: an entry (leaf) or a child ref (internal). */
export interface NodeItem {
  key: Uint8Array;
  /** Leaf: the inline value. */
  value?: Uint8Array;
  /** Leaf: an out-of-line value's id and size. */
  valueId?: Uint8Array;
  size?: number;
  /** Internal: the child's id. */
  child?: Uint8Array;
  /** Version 2: the stored suffix (the key minus the prefix shared with the previous key). */
  suffix?: Uint8Array;
}

export interface TreeNode {
  version: 1 | 2;
  level: number;
  items: NodeItem[];
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** Decodes a node block of either version (throws when it is not one). */
export function decodeNode(bytes: Uint8Array): TreeNode {
  const v = decodeCbor(bytes) as unknown[];
  if (!Array.isArray(v)) throw new Error('not a node');
  if (v.length === 2) {
    const [level, items] = v as [number, Uint8Array[][]];
    return {
      version: 1,
      level,
      items: items.map((it) =>
        level > 0 ? { key: it[0]!, child: it[1]! } : it.length === 3 ? { key: it[0]!, valueId: it[1]!, size: Number(it[2]) } : { key: it[0]!, value: it[1]! },
      ),
    };
  }
  if (v.length !== 3 || v[0] !== 2) throw new Error('not a node');
  const level = v[1] as number;
  let prev: Uint8Array = new Uint8Array(0);
  const items = (v[2] as unknown[][]).map((it) => {
    const shared = it[0] as number;
    const suffix = it[1] as Uint8Array;
    const key = concat(prev.subarray(0, shared), suffix);
    prev = key;
    if (level > 0) return { key, suffix, child: it[2] as Uint8Array };
    return it.length === 4 ? { key, suffix, valueId: it[2] as Uint8Array, size: Number(it[3]) } : { key, suffix, value: it[2] as Uint8Array };
  });
  return { version: 2, level, items };
}

/** The blocks a node refers to: children, or out-of-line values. */
export const nodeRefs = (n: TreeNode): Uint8Array[] => n.items.flatMap((it) => (it.child ? [it.child] : it.valueId ? [it.valueId] : []));

export interface Commit {
  tree: Uint8Array;
  parent: Uint8Array | null;
  seq: number;
  salt: Uint8Array | null;
}

export function decodeCommit(bytes: Uint8Array): Commit {
  const c = decodeCbor(bytes) as { tree: Uint8Array; parent: Uint8Array | null; seq: number; salt?: Uint8Array };
  return { tree: c.tree, parent: c.parent, seq: c.seq, salt: c.salt ?? null };
}

// ---- SipHash-2-4 and ranks ----

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M64;

/** SipHash-2-4 of `m` under the 16-byte key `k` (read as two little-endian words). */
export function siphash24(k: Uint8Array, m: Uint8Array): bigint {
  const dv = new DataView(k.buffer, k.byteOffset, 16);
  const k0 = dv.getBigUint64(0, true);
  const k1 = dv.getBigUint64(8, true);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M64;
    v1 = rotl(v1, 13n);
    v1 ^= v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl(v3, 16n);
    v3 ^= v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl(v3, 21n);
    v3 ^= v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl(v1, 17n);
    v1 ^= v2;
    v2 = rotl(v2, 32n);
  };
  const end = m.length - (m.length % 8);
  const mv = new DataView(m.buffer, m.byteOffset, m.length);
  for (let i = 0; i < end; i += 8) {
    const w = mv.getBigUint64(i, true);
    v3 ^= w;
    round();
    round();
    v0 ^= w;
  }
  let b = BigInt(m.length & 0xff) << 56n;
  for (let j = 0; j < m.length % 8; j++) b |= BigInt(m[end + j]!) << BigInt(8 * j);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

/** Leading zero bits of a 64-bit value (64 for 0). */
const clz64 = (h: bigint): number => (h === 0n ? 64 : 64 - h.toString(2).length);

/** Version 2 boundary rank: floor(leading zeros of SipHash-2-4(salt, key) / 4). */
export const rank = (salt: Uint8Array, key: Uint8Array): number => Math.floor(clz64(siphash24(salt, key)) / 4);

/** Version 1 boundary rank: floor(leading zero bits of SHA-256(key) / 5). */
export function rankV1(key: Uint8Array): number {
  let z = 0;
  for (const x of sha(key)) {
    if (x === 0) {
      z += 8;
      continue;
    }
    z += Math.clz32(x) - 24;
    break;
  }
  return Math.floor(z / 5);
}

/** The node-size caps of version 2. */
export const MAX_ITEMS = 128;
export const MAX_WEIGHT = 8192;

/** The weight of an item (version 2): its stored suffix plus its value field (inline value, or a 32-byte id). */
export const weight = (it: NodeItem): number => it.suffix!.length + (it.value ? it.value.length : 32);

// ---- a model of the canonical tree (README "Boundaries"), for known answers ----

const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const sharedLength = (a: Uint8Array, b: Uint8Array): number => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
};

/** A version 2 node's bytes, encoded with the generic deterministic CBOR encoder. */
export function encodeNodeV2(level: number, items: NodeItem[]): Uint8Array {
  if (items.length === 0) return EMPTY_TREE;
  let prev: Uint8Array | null = null;
  const out = items.map((it) => {
    const shared = prev === null ? 0 : sharedLength(prev, it.key);
    prev = it.key;
    const suffix = it.key.subarray(shared);
    if (level > 0) return [shared, suffix, it.child!];
    return it.valueId ? [shared, suffix, it.valueId, it.size!] : [shared, suffix, it.value!];
  });
  return encodeCbor([2, level, out] as never);
}

/**
 * The canonical tree of `entries` under `salt`: level 0 is the sorted entries, each level is cut
 * into nodes by the boundary rule, and the first level with one node is the root. Returns the
 * root id and every block (nodes and out-of-line values) by hex id.
 */
export function buildTree(salt: Uint8Array, entries: [Uint8Array, Uint8Array][]): { root: Uint8Array; blocks: Map<string, Uint8Array> } {
  const blocks = new Map<string, Uint8Array>();
  const put = (b: Uint8Array): Uint8Array => {
    const id = sha(b);
    blocks.set(hexOf(id), b);
    return id;
  };
  const sorted = [...entries].sort(([a], [b]) => cmp(a, b));
  if (sorted.length === 0) return { root: put(EMPTY_TREE), blocks };
  let items: NodeItem[] = sorted.map(([key, value]) => (value.length > 64 ? { key, valueId: put(value), size: value.length } : { key, value }));
  for (let level = 0; ; level++) {
    const nodes: NodeItem[] = [];
    let cur: NodeItem[] = [];
    let w = 0;
    const emit = () => {
      nodes.push({ key: cur[cur.length - 1]!.key, child: put(encodeNodeV2(level, cur)) });
      cur = [];
      w = 0;
    };
    for (const it of items) {
      const shared = cur.length === 0 ? 0 : sharedLength(cur[cur.length - 1]!.key, it.key);
      cur.push(it);
      w += it.key.length - shared + (it.value ? it.value.length : 32);
      if (rank(salt, it.key) > level || cur.length >= MAX_ITEMS || w >= MAX_WEIGHT) emit();
    }
    if (cur.length > 0) emit();
    if (nodes.length === 1) return { root: nodes[0]!.child!, blocks };
    items = nodes;
  }
}
