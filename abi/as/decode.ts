/**
 * The strict CBOR decoder. Input comes from other parties and may be hostile, so it never traps:
 * truncated data, indefinite lengths, non-minimal heads, lengths beyond the input, nesting deeper
 * than 64, invalid UTF-8, unsorted or duplicate map keys, non-shortest floats, NaN/Infinity, tags,
 * `undefined`, other simple values and trailing bytes all give an EINPUT error naming the offset.
 * Anything it accepts re-encodes to the very same bytes (the deterministic profile of cbor.ts).
 */
import { CborArray, CborMap, MapEntry, Value, compareBytes, halfBits } from "./cbor";
import { Err, Result, failure, success } from "./result";

/** The deepest nesting of arrays and maps accepted; the same limit as the host. */
export const MAX_DEPTH: i32 = 64;

/**
 * Decode exactly one data item.
 * @example
 * const r = decode(readInput()); if (!r.ok) return failWith(r.error!);
 */
export function decode(bytes: Uint8Array): Result<Value> {
  if (bytes.length == 0) return failure<Value>(new Err("EINPUT", "CBOR: expected one data item, got 0 bytes"), Value.nil());
  const d = new Decoder(bytes);
  const v = d.item(0);
  if (v !== null && d.pos != bytes.length) d.fail("trailing bytes after the data item");
  const msg = d.error;
  if (msg !== null) {
    return failure<Value>(new Err("EINPUT", "CBOR: " + msg + " at byte " + d.errorAt.toString()), Value.nil());
  }
  return success<Value>(v!);
}

/** True when `n` bytes at `p` are well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
export function isUtf8(p: usize, n: i32): bool {
  let i = 0;
  while (i < n) {
    const b0 = <u32>load<u8>(p + <usize>i);
    if (b0 < 0x80) { i++; continue; }
    let need = 0;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (b0 < 0xc2) return false; // a continuation byte, or an overlong 2-byte form
    else if (b0 < 0xe0) need = 1;
    else if (b0 < 0xf0) {
      need = 2;
      if (b0 == 0xe0) lo = 0xa0; // overlong
      else if (b0 == 0xed) hi = 0x9f; // surrogates
    } else if (b0 < 0xf5) {
      need = 3;
      if (b0 == 0xf0) lo = 0x90; // overlong
      else if (b0 == 0xf4) hi = 0x8f; // past U+10FFFF
    } else return false;
    if (n - i <= need) return false;
    const b1 = <u32>load<u8>(p + <usize>i, 1);
    if (b1 < lo || b1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const b = <u32>load<u8>(p + <usize>(i + k));
      if ((b & 0xc0) != 0x80) return false;
    }
    i += need + 1;
  }
  return true;
}

class Decoder {
  p: usize;
  pos: i32 = 0;
  end: i32;
  error: string | null = null;
  errorAt: i32 = 0;
  // The head just read.
  major: u32 = 0;
  info: u32 = 0;
  arg: u64 = 0;

  constructor(public bytes: Uint8Array) {
    this.p = bytes.dataStart;
    this.end = bytes.length;
  }

  fail(msg: string): void {
    if (this.error === null) {
      this.error = msg;
      this.errorAt = this.pos;
    }
  }

  get left(): i32 { return this.end - this.pos; }

  /** Read an initial byte and its argument; minimal length checks apply to all but floats. */
  head(): bool {
    if (this.pos >= this.end) { this.fail("truncated: expected a data item"); return false; }
    const start = this.pos;
    const ib = <u32>load<u8>(this.p + <usize>start);
    const major = ib >> 5;
    const info = ib & 31;
    this.major = major;
    this.info = info;
    this.pos++;
    if (info < 24) { this.arg = info; return true; }
    if (info > 27) {
      this.pos = start;
      this.fail(info == 31 ? "indefinite lengths are not allowed" : "reserved additional information " + info.toString());
      return false;
    }
    const size = 1 << (info - 24);
    if (this.left < size) { this.pos = start; this.fail("truncated: head needs " + size.toString() + " more bytes"); return false; }
    const q = this.p + <usize>this.pos;
    let arg: u64;
    if (size == 1) arg = <u64>load<u8>(q);
    else if (size == 2) arg = <u64>bswap<u16>(load<u16>(q));
    else if (size == 4) arg = <u64>bswap<u32>(load<u32>(q));
    else arg = bswap<u64>(load<u64>(q));
    this.pos += size;
    this.arg = arg;
    // Major 7 uses the head for simple values and floats, which have their own rules.
    if (major != 7) {
      const floor: u64 = size == 1 ? 24 : size == 2 ? 0x100 : size == 4 ? 0x10000 : 0x100000000;
      if (arg < floor) { this.pos = start; this.fail("non-minimal head"); return false; }
    }
    return true;
  }

  item(depth: i32): Value | null {
    const start = this.pos;
    if (!this.head()) return null;
    const arg = this.arg;
    switch (this.major) {
      case 0: return Value.uint(arg);
      case 1: return Value.negint(arg);
      case 2: {
        if (arg > <u64>this.left) { this.pos = start; this.fail("byte string of " + arg.toString() + " bytes runs past the end"); return null; }
        const n = <i32>arg;
        const b = this.bytes.slice(this.pos, this.pos + n);
        this.pos += n;
        return Value.bytes(b);
      }
      case 3: {
        if (arg > <u64>this.left) { this.pos = start; this.fail("text of " + arg.toString() + " bytes runs past the end"); return null; }
        const n = <i32>arg;
        const q = this.p + <usize>this.pos;
        if (!isUtf8(q, n)) { this.pos = start; this.fail("text is not valid UTF-8"); return null; }
        this.pos += n;
        return Value.text(String.UTF8.decodeUnsafe(q, <usize>n, false));
      }
      case 4: return this.array(start, arg, depth + 1);
      case 5: return this.map(start, arg, depth + 1);
      case 6: { this.pos = start; this.fail("tags are not in the profile (tag " + arg.toString() + ")"); return null; }
      default: return this.simple(start, arg);
    }
  }

  array(start: i32, count: u64, depth: i32): Value | null {
    // Every item takes at least one byte: a count beyond what is left is a lie, not an allocation.
    if (count > <u64>this.left) { this.pos = start; this.fail("array of " + count.toString() + " items cannot fit in the bytes left"); return null; }
    if (count > 0 && depth > MAX_DEPTH) { this.pos = start; this.fail("nesting deeper than " + MAX_DEPTH.toString()); return null; }
    const a = new CborArray();
    const n = <i32>count;
    for (let i = 0; i < n; i++) {
      const v = this.item(depth);
      if (v === null) return null;
      a.items.push(v);
    }
    return a;
  }

  map(start: i32, count: u64, depth: i32): Value | null {
    if (count > <u64>(this.left >> 1)) { this.pos = start; this.fail("map of " + count.toString() + " entries cannot fit in the bytes left"); return null; }
    if (count > 0 && depth > MAX_DEPTH) { this.pos = start; this.fail("nesting deeper than " + MAX_DEPTH.toString()); return null; }
    const m = new CborMap();
    const n = <i32>count;
    let prev: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const keyStart = this.pos;
      const k = this.item(depth);
      if (k === null) return null;
      // A strictly decoded key is its own canonical encoding, so its bytes order the map.
      const kb = this.bytes.slice(keyStart, this.pos);
      if (prev !== null && compareBytes(prev, kb) >= 0) {
        this.pos = keyStart;
        this.fail(compareBytes(prev, kb) == 0 ? "duplicate map key" : "map keys are not in deterministic order");
        return null;
      }
      const v = this.item(depth);
      if (v === null) return null;
      m.entries.push(new MapEntry(k, v, kb));
      prev = kb;
    }
    return m;
  }

  simple(start: i32, arg: u64): Value | null {
    const info = this.info;
    if (info == 20) return Value.bool(false);
    if (info == 21) return Value.bool(true);
    if (info == 22) return Value.nil();
    if (info < 25) { this.pos = start; this.fail(info == 23 ? "undefined is not in the profile" : "simple values are not in the profile"); return null; }
    let x: f64;
    if (info == 25) x = halfToF64(<u32>arg);
    else if (info == 26) x = <f64>reinterpret<f32>(<u32>arg);
    else x = reinterpret<f64>(arg);
    if (!isFinite(x)) { this.pos = start; this.fail("NaN and Infinity are not in the profile"); return null; }
    const shorter = info == 26 ? halfBits(x) >= 0 : info == 27 ? <f64><f32>x == x : false;
    if (shorter) { this.pos = start; this.fail("float is not in its shortest form"); return null; }
    return Value.float(x);
  }
}

/** IEEE half-precision bits to a double. */
function halfToF64(h: u32): f64 {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  let v: f64;
  if (exp == 0) v = <f64>mant * 5.9604644775390625e-8; // mant * 2^-24
  else if (exp == 31) v = mant == 0 ? Infinity : NaN;
  else v = <f64>(mant | 0x400) * reinterpret<f64>(<u64>(<i32>exp - 25 + 1023) << 52);
  return (h & 0x8000) != 0 ? -v : v;
}
