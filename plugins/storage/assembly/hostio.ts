/**
 * The host calls on the plugin's hot paths (blocks_get, blocks_put, ref_get, ref_cas), with their
 * CBOR requests written and their replies read by hand: the same `mcp0:abi/v1` imports and wire
 * format as the typed wrappers of @mcp0/abi/as (ABI.md §4), without building a CBOR value tree
 * for every request and reply. That tree (an object per value, a growing buffer for a block list
 * of several kilobytes) was a large share of a put's allocations, so of its garbage collection.
 * A reply this reader does not expect (an error, or anything unusual) goes through the library's
 * strict decoder, so errors keep their codes and nothing malformed is taken as data.
 */
import { Err, Ref, decode, free, fromHandle, toHandle } from "@mcp0/abi/as";

// @ts-ignore: decorator
@external("mcp0:abi/v1", "blocks_put") declare function host_blocks_put(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "blocks_get") declare function host_blocks_get(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "ref_get") declare function host_ref_get(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "ref_cas") declare function host_ref_cas(req: u64): u64;

/** The error of the last call that failed. */
export let hostError: Err = new Err("EINTERNAL", "");

// ---- writing ----

// @ts-ignore: decorator
@inline export function headLen(arg: u64): i32 {
  return arg < 24 ? 1 : arg <= 0xff ? 2 : arg <= 0xffff ? 3 : arg <= 0xffffffff ? 5 : 9;
}

/** Writes the shortest CBOR head of a major type at p; the position after it. */
export function putHead(p: usize, major: u32, arg: u64): usize {
  const m = major << 5;
  if (arg < 24) { store<u8>(p, <u8>(m | <u32>arg)); return p + 1; }
  if (arg <= 0xff) { store<u8>(p, <u8>(m | 24)); store<u8>(p, <u8>arg, 1); return p + 2; }
  if (arg <= 0xffff) { store<u8>(p, <u8>(m | 25)); store<u16>(p, bswap<u16>(<u16>arg), 1); return p + 3; }
  if (arg <= 0xffffffff) { store<u8>(p, <u8>(m | 26)); store<u32>(p, bswap<u32>(<u32>arg), 1); return p + 5; }
  store<u8>(p, <u8>(m | 27)); store<u64>(p, bswap<u64>(arg), 1); return p + 9;
}

/** A byte string (head and bytes) at p; the position after it. */
export function putBytes(p: usize, src: usize, n: i32): usize {
  p = putHead(p, 2, <u64>n);
  memory.copy(p, src, <usize>n);
  return p + <usize>n;
}

/** A text key (at most 23 bytes, ASCII) at p. */
export function putKey(p: usize, key: string): usize {
  const n = key.length;
  store<u8>(p, <u8>(0x60 | n));
  for (let i = 0; i < n; i++) store<u8>(p + 1 + <usize>i, <u8>key.charCodeAt(i));
  return p + 1 + <usize>n;
}

export function keyLen(key: string): i32 { return 1 + key.length; }

// ---- reading ----

/** The argument of a head of `major` at b[pos] (any width), with the position after it in `at`; -1 when it is not one. */
let at: i32 = 0;
function readHead(b: Uint8Array, pos: i32, major: u32): i64 {
  if (pos >= b.length) return -1;
  const p = b.dataStart + <usize>pos;
  const ib = <u32>load<u8>(p);
  if ((ib >> 5) != major) return -1;
  const ai = ib & 31;
  if (ai < 24) { at = pos + 1; return <i64>ai; }
  if (ai == 24 && pos + 2 <= b.length) { at = pos + 2; return <i64>load<u8>(p, 1); }
  if (ai == 25 && pos + 3 <= b.length) { at = pos + 3; return <i64>bswap<u16>(load<u16>(p, 1)); }
  if (ai == 26 && pos + 5 <= b.length) { at = pos + 5; return <i64>bswap<u32>(load<u32>(p, 1)); }
  if (ai == 27 && pos + 9 <= b.length) {
    const v = bswap<u64>(load<u64>(p, 1));
    if (v > <u64>i64.MAX_VALUE) return -1;
    at = pos + 9;
    return <i64>v;
  }
  return -1;
}

/** True when `key` (ASCII text) is encoded at b[pos]; `at` is then after it. */
function isKey(b: Uint8Array, pos: i32, key: string): bool {
  const n = key.length;
  if (pos + 1 + n > b.length || load<u8>(b.dataStart + <usize>pos) != <u8>(0x60 | n)) return false;
  for (let i = 0; i < n; i++) if (load<u8>(b.dataStart + <usize>(pos + 1 + i)) != <u8>key.charCodeAt(i)) return false;
  at = pos + 1 + n;
  return true;
}

/** Where the value of a `{ok: value}` reply starts, or -1. */
function okValue(b: Uint8Array): i32 {
  if (b.length < 5 || load<u8>(b.dataStart) != 0xa1) return -1;
  return isKey(b, 1, "ok") ? at : -1;
}

/** The error of a reply that is not `{ok: ...}` as expected: the host's own, or a malformed reply. */
function replyError(name: string, b: Uint8Array): Err {
  const d = decode(b);
  if (d.ok) {
    const m = d.value.asMap();
    if (m !== null) {
      const e = m.getMap("err");
      if (e !== null) {
        const code = e.getText("code");
        const message = e.getText("message");
        return new Err(code === null ? "EINTERNAL" : code, message === null ? "" : message);
      }
    }
  }
  return new Err("EINTERNAL", name + ": malformed host reply" + (d.ok ? "" : ": " + d.error!.message));
}

function exchange(fn: (req: u64) => u64, name: string, req: Uint8Array): Uint8Array | null {
  const h = toHandle(req);
  const r = fn(h);
  free(h);
  if (r == 0) { hostError = new Err("EINTERNAL", name + ": the host returned no reply"); return null; }
  const bytes = fromHandle(r);
  free(r);
  return bytes;
}

// ---- the calls ----

/** Outcome of `getBlock`: the bytes (null: the store has no such block) or a failure. */
export class Fetched {
  constructor(public ok: bool, public bytes: Uint8Array | null) {}
}

/** blocks_get: the block's bytes (a view of the reply), null when absent; `ok` false with hostError. */
export function getBlock(id: Uint8Array): Fetched {
  const req = new Uint8Array(1 + 3 + 2 + 32);
  let p = req.dataStart;
  store<u8>(p, 0xa1);
  p = putKey(p + 1, "id");
  putBytes(p, id.dataStart, 32);
  const b = exchange(host_blocks_get, "blocks_get", req);
  if (b === null) return new Fetched(false, null);
  const v = okValue(b);
  if (v > 0) {
    if (v == b.length - 1 && load<u8>(b.dataStart + <usize>v) == 0xf6) return new Fetched(true, null);
    const n = readHead(b, v, 2);
    if (n >= 0 && <i64>at + n == <i64>b.length) return new Fetched(true, b.subarray(at, b.length));
  }
  hostError = replyError("blocks_get", b);
  return new Fetched(false, null);
}

/** blocks_put of blocks[from, to): null, or the error. */
export function putBlocks(blocks: Array<Uint8Array>, from: i32, to: i32): Err | null {
  const count = to - from;
  let size = 1 + keyLen("blocks") + headLen(<u64>count);
  for (let i = from; i < to; i++) {
    const n = unchecked(blocks[i]).byteLength;
    size += headLen(<u64>n) + n;
  }
  const req = new Uint8Array(size);
  let p = req.dataStart;
  store<u8>(p, 0xa1);
  p = putKey(p + 1, "blocks");
  p = putHead(p, 4, <u64>count);
  for (let i = from; i < to; i++) {
    const b = unchecked(blocks[i]);
    p = putBytes(p, b.dataStart, b.byteLength);
  }
  const r = exchange(host_blocks_put, "blocks_put", req);
  if (r === null) return hostError;
  const v = okValue(r);
  if (v > 0 && readHead(r, v, 4) == <i64>count) return null;
  return replyError("blocks_put", r);
}

/** Outcome of `getRef`. */
export class RefRead {
  constructor(public ok: bool, public ref: Ref | null) {}
}

function nameLen(name: Uint8Array): i32 {
  return headLen(<u64>name.length) + name.length;
}

function putName(p: usize, name: Uint8Array): usize {
  p = putHead(p, 3, <u64>name.length);
  memory.copy(p, name.dataStart, <usize>name.length);
  return p + <usize>name.length;
}

/** ref_get (`name`: UTF-8): the ref, or null when it does not exist; `ok` false with hostError. */
export function getRef(name: Uint8Array): RefRead {
  const req = new Uint8Array(1 + keyLen("name") + nameLen(name));
  let p = req.dataStart;
  store<u8>(p, 0xa1);
  p = putKey(p + 1, "name");
  putName(p, name);
  const b = exchange(host_ref_get, "ref_get", req);
  if (b === null) return new RefRead(false, null);
  const v = okValue(b);
  if (v > 0) {
    if (v == b.length - 1 && load<u8>(b.dataStart + <usize>v) == 0xf6) return new RefRead(true, null);
    // {root: bytes(32), version: uint}, in that (deterministic) order.
    if (readHead(b, v, 5) == 2 && isKey(b, at, "root")) {
      const n = readHead(b, at, 2);
      if (n == 32) {
        const root = b.slice(at, at + 32);
        if (isKey(b, at + 32, "version")) {
          const version = readHead(b, at, 0);
          if (version >= 0 && at == b.length) return new RefRead(true, new Ref(root, <u64>version));
        }
      }
    }
  }
  hostError = replyError("ref_get", b);
  return new RefRead(false, null);
}

/** ref_cas: moves `name` from version `expect` (0: absent) to `root`; the new version, or -1 with hostError. */
export function casRef(name: Uint8Array, expect: u64, root: Uint8Array): i64 {
  // Keys in deterministic order: "name", "root", "expect".
  const req = new Uint8Array(1 + keyLen("name") + nameLen(name) + keyLen("root") + 2 + 32 + keyLen("expect") + headLen(expect));
  let p = req.dataStart;
  store<u8>(p, 0xa3);
  p = putKey(p + 1, "name");
  p = putName(p, name);
  p = putKey(p, "root");
  p = putBytes(p, root.dataStart, 32);
  p = putKey(p, "expect");
  putHead(p, 0, expect);
  const b = exchange(host_ref_cas, "ref_cas", req);
  if (b === null) return -1;
  const v = okValue(b);
  if (v > 0 && readHead(b, v, 5) == 1 && isKey(b, at, "version")) {
    const version = readHead(b, at, 0);
    if (version >= 0 && at == b.length) return version;
  }
  hostError = replyError("ref_cas", b);
  return -1;
}

/** A CBOR byte string holding `v` (one copy, no value tree): the answer of get. */
export function encodeBytes(v: Uint8Array): Uint8Array {
  const out = new Uint8Array(headLen(<u64>v.length) + v.length);
  putBytes(out.dataStart, v.dataStart, v.length);
  return out;
}

/** `{root: bytes(32)}`, the answer of put and apply. */
export function encodeRootAnswer(root: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + keyLen("root") + 2 + 32);
  let p = out.dataStart;
  store<u8>(p, 0xa1);
  p = putKey(p + 1, "root");
  putBytes(p, root.dataStart, 32);
  return out;
}

