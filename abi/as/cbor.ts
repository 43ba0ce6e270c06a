/**
 * CBOR values and the deterministic encoder (RFC 8949 §4.2.1): shortest integer and length heads,
 * definite lengths only, map keys sorted by their encoded bytes, floats in their shortest exact
 * form. The same value always gives the same bytes, so hashes and signatures over payloads are
 * stable. The profile has no tags, no `undefined` and no other simple values. NaN and ±Infinity
 * encode canonically (f9 7e00, f9 7c00, f9 fc00) but are outside the profile: the host and
 * decode.ts refuse them, so do not send them. Decoding is in decode.ts.
 */

/** The kinds of value in the profile. */
export const enum Kind {
  Null = 0,
  Bool = 1,
  Uint = 2,
  Negint = 3,
  Bytes = 4,
  Text = 5,
  Array = 6,
  Map = 7,
  Float = 8,
}

/** The profile's name of a kind, for messages such as `expected uint, got text`. */
export function kindName(kind: Kind): string {
  switch (kind) {
    case Kind.Null: return "null";
    case Kind.Bool: return "bool";
    case Kind.Uint: return "uint";
    case Kind.Negint: return "negint";
    case Kind.Bytes: return "bytes";
    case Kind.Text: return "text";
    case Kind.Array: return "array";
    case Kind.Map: return "map";
    default: return "float";
  }
}

/**
 * A CBOR value. Build with the static constructors (`Value.text("a")`, `Value.map().set(...)`),
 * read with the `is…`/`as…` getters, which never trap on a value of another kind.
 */
export class Value {
  constructor(public readonly kind: Kind) {}

  static nil(): Value { return new Value(Kind.Null); }
  static bool(b: bool): Value { return new CborBool(b); }
  static uint(n: u64): Value { return new CborUint(n); }
  /** A signed integer: uint when ≥ 0, negint otherwise. */
  static int(n: i64): Value { return n >= 0 ? new CborUint(<u64>n) : new CborNegint(<u64>(-1 - n)); }
  /** The negative integer -1 - arg (covers down to -2^64). */
  static negint(arg: u64): Value { return new CborNegint(arg); }
  static float(f: f64): Value { return new CborFloat(f); }
  static bytes(b: Uint8Array): Value { return new CborBytes(b); }
  static text(s: string): Value { return new CborText(s); }
  static array(): CborArray { return new CborArray(); }
  static map(): CborMap { return new CborMap(); }

  /** The kind's name: "uint", "text", ... */
  get typeName(): string { return kindName(this.kind); }

  isNull(): bool { return this.kind == Kind.Null; }
  isBool(): bool { return this.kind == Kind.Bool; }
  isUint(): bool { return this.kind == Kind.Uint; }
  isFloat(): bool { return this.kind == Kind.Float; }
  /** True for a uint or negint that fits in an i64. */
  isInt(): bool {
    if (this.kind == Kind.Uint) return changetype<CborUint>(this).value <= <u64>i64.MAX_VALUE;
    if (this.kind == Kind.Negint) return changetype<CborNegint>(this).arg <= <u64>i64.MAX_VALUE;
    return false;
  }

  /** The boolean, or false for another kind. */
  asBool(): bool { return this.kind == Kind.Bool ? changetype<CborBool>(this).value : false; }
  /** The unsigned integer, or 0 for another kind. */
  asUint(): u64 { return this.kind == Kind.Uint ? changetype<CborUint>(this).value : 0; }
  /** The integer when `isInt()`, else 0. */
  asInt(): i64 {
    if (!this.isInt()) return 0;
    return this.kind == Kind.Uint ? <i64>changetype<CborUint>(this).value : -1 - <i64>changetype<CborNegint>(this).arg;
  }
  /** The float, or 0 for another kind (integers are not converted). */
  asFloat(): f64 { return this.kind == Kind.Float ? changetype<CborFloat>(this).value : 0; }
  asBytes(): Uint8Array | null { return this.kind == Kind.Bytes ? changetype<CborBytes>(this).value : null; }
  asText(): string | null { return this.kind == Kind.Text ? changetype<CborText>(this).value : null; }
  asArray(): CborArray | null { return this.kind == Kind.Array ? changetype<CborArray>(this) : null; }
  asMap(): CborMap | null { return this.kind == Kind.Map ? changetype<CborMap>(this) : null; }
}

export class CborBool extends Value {
  constructor(public readonly value: bool) { super(Kind.Bool); }
}

export class CborUint extends Value {
  constructor(public readonly value: u64) { super(Kind.Uint); }
}

/** A negative integer, held as its CBOR argument: the value is -1 - arg. */
export class CborNegint extends Value {
  constructor(public readonly arg: u64) { super(Kind.Negint); }
}

export class CborFloat extends Value {
  constructor(public readonly value: f64) { super(Kind.Float); }
}

export class CborBytes extends Value {
  constructor(public readonly value: Uint8Array) { super(Kind.Bytes); }
}

export class CborText extends Value {
  constructor(public readonly value: string) { super(Kind.Text); }
}

export class CborArray extends Value {
  items: Array<Value> = new Array<Value>();
  constructor() { super(Kind.Array); }

  get length(): i32 { return this.items.length; }
  /** The item at `i`, or null when out of range. */
  at(i: i32): Value | null { return i >= 0 && i < this.items.length ? unchecked(this.items[i]) : null; }
  push(v: Value): CborArray { this.items.push(v); return this; }
}

/** One map entry; `keyBytes` is the key's encoding, which fixes the entry's place in the map. */
export class MapEntry {
  constructor(public key: Value, public value: Value, public keyBytes: Uint8Array) {}
}

export class CborMap extends Value {
  entries: Array<MapEntry> = new Array<MapEntry>();
  constructor() { super(Kind.Map); }

  get size(): i32 { return this.entries.length; }

  /** Set a text key, replacing an equal key. Chainable. */
  set(key: string, value: Value): CborMap { return this.setKey(Value.text(key), value); }

  /** Set any key, replacing a key with the same encoding. Chainable. */
  setKey(key: Value, value: Value): CborMap {
    const kb = encode(key);
    const entries = this.entries;
    for (let i = 0, n = entries.length; i < n; i++) {
      const e = unchecked(entries[i]);
      if (compareBytes(e.keyBytes, kb) == 0) { e.value = value; return this; }
    }
    entries.push(new MapEntry(key, value, kb));
    return this;
  }

  /** The value under a text key, or null. */
  get(key: string): Value | null {
    const entries = this.entries;
    for (let i = 0, n = entries.length; i < n; i++) {
      const e = unchecked(entries[i]);
      if (e.key.kind == Kind.Text && changetype<CborText>(e.key).value == key) return e.value;
    }
    return null;
  }

  has(key: string): bool { return this.get(key) !== null; }

  /** The text under `key`, or null when absent or not text. */
  getText(key: string): string | null { const v = this.get(key); return v === null ? null : v.asText(); }
  /** The bytes under `key`, or null when absent or not bytes. */
  getBytes(key: string): Uint8Array | null { const v = this.get(key); return v === null ? null : v.asBytes(); }
  /** The map under `key`, or null when absent or not a map. */
  getMap(key: string): CborMap | null { const v = this.get(key); return v === null ? null : v.asMap(); }
  /** The array under `key`, or null when absent or not an array. */
  getArray(key: string): CborArray | null { const v = this.get(key); return v === null ? null : v.asArray(); }
}

/** Unsigned lexicographic order of two byte strings (a shorter prefix sorts first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): i32 {
  const n = min(a.length, b.length);
  const c = memory.compare(a.dataStart, b.dataStart, n);
  return c != 0 ? c : a.length - b.length;
}

/** Encode a value deterministically. */
export function encode(v: Value): Uint8Array {
  const w = new Writer(64);
  w.value(v);
  return w.finish();
}

/**
 * Map entries in deterministic order, by encoded key. Decoded maps are already in order and are
 * used as they are; others are sorted into a copy, by insertion (maps are small, and a general
 * sort would add kilobytes to every plugin).
 */
function inKeyOrder(entries: Array<MapEntry>): Array<MapEntry> {
  const n = entries.length;
  let i = 1;
  while (i < n && compareBytes(unchecked(entries[i - 1]).keyBytes, unchecked(entries[i]).keyBytes) < 0) i++;
  if (i >= n) return entries;
  const a = entries.slice(0);
  for (; i < n; i++) {
    const e = unchecked(a[i]);
    let j = i - 1;
    while (j >= 0 && compareBytes(unchecked(a[j]).keyBytes, e.keyBytes) > 0) {
      unchecked(a[j + 1] = a[j]);
      j--;
    }
    unchecked(a[j + 1] = e);
  }
  return a;
}

/**
 * The exact IEEE half-precision bits of `x`, or -1 when a half cannot hold it. NaN is left to the
 * caller (it has one canonical encoding, f9 7e00).
 */
export function halfBits(x: f64): i32 {
  const f = <f32>x;
  if (<f64>f != x) return -1; // not even a float32
  const bits = reinterpret<u32>(f);
  const sign = <i32>((bits >>> 16) & 0x8000);
  const exp = <i32>((bits >>> 23) & 0xff);
  const mant = bits & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00; // ±Infinity
  if (exp == 0) return mant == 0 ? sign : -1; // ±0; float32 subnormals are far below half range
  const e = exp - 127;
  if (e > 15) return -1;
  if (e >= -14) {
    // A normal half keeps 10 of the 23 mantissa bits.
    if ((mant & 0x1fff) != 0) return -1;
    return sign | ((e + 15) << 10) | <i32>(mant >>> 13);
  }
  if (e < -24) return -1;
  // A half subnormal is frac * 2^-24; here x = (2^23 | mant) * 2^(e-23), so frac = full >> (-e-1).
  const full = mant | 0x800000;
  const shift = <u32>(-e - 1);
  if ((full & ((1 << shift) - 1)) != 0) return -1;
  return sign | <i32>(full >>> shift);
}

/** A growable output buffer with CBOR head writing. */
class Writer {
  buf: Uint8Array;
  pos: i32 = 0;

  constructor(capacity: i32) { this.buf = new Uint8Array(capacity); }

  reserve(n: i32): usize {
    const need = this.pos + n;
    if (need > this.buf.length) {
      const grown = new Uint8Array(max(need, this.buf.length << 1));
      memory.copy(grown.dataStart, this.buf.dataStart, this.pos);
      this.buf = grown;
    }
    const at = this.buf.dataStart + <usize>this.pos;
    this.pos = need;
    return at;
  }

  /** The shortest head for a major type and argument (§4.2.1). */
  head(major: u32, arg: u64): void {
    const m = major << 5;
    if (arg < 24) {
      store<u8>(this.reserve(1), <u8>(m | <u32>arg));
    } else if (arg <= 0xff) {
      const p = this.reserve(2);
      store<u8>(p, <u8>(m | 24));
      store<u8>(p, <u8>arg, 1);
    } else if (arg <= 0xffff) {
      const p = this.reserve(3);
      store<u8>(p, <u8>(m | 25));
      store<u16>(p, bswap<u16>(<u16>arg), 1);
    } else if (arg <= 0xffffffff) {
      const p = this.reserve(5);
      store<u8>(p, <u8>(m | 26));
      store<u32>(p, bswap<u32>(<u32>arg), 1);
    } else {
      const p = this.reserve(9);
      store<u8>(p, <u8>(m | 27));
      store<u64>(p, bswap<u64>(arg), 1);
    }
  }

  raw(p: usize, n: i32): void {
    memory.copy(this.reserve(n), p, n);
  }

  float(x: f64): void {
    if (isNaN(x)) {
      const p = this.reserve(3);
      store<u8>(p, 0xf9);
      store<u16>(p, bswap<u16>(0x7e00), 1);
      return;
    }
    const h = halfBits(x);
    if (h >= 0) {
      const p = this.reserve(3);
      store<u8>(p, 0xf9);
      store<u16>(p, bswap<u16>(<u16>h), 1);
    } else if (<f64><f32>x == x) {
      const p = this.reserve(5);
      store<u8>(p, 0xfa);
      store<u32>(p, bswap<u32>(reinterpret<u32>(<f32>x)), 1);
    } else {
      const p = this.reserve(9);
      store<u8>(p, 0xfb);
      store<u64>(p, bswap<u64>(reinterpret<u64>(x)), 1);
    }
  }

  value(v: Value): void {
    switch (v.kind) {
      case Kind.Null: store<u8>(this.reserve(1), 0xf6); break;
      case Kind.Bool: store<u8>(this.reserve(1), changetype<CborBool>(v).value ? 0xf5 : 0xf4); break;
      case Kind.Uint: this.head(0, changetype<CborUint>(v).value); break;
      case Kind.Negint: this.head(1, changetype<CborNegint>(v).arg); break;
      case Kind.Float: this.float(changetype<CborFloat>(v).value); break;
      case Kind.Bytes: {
        const b = changetype<CborBytes>(v).value;
        this.head(2, <u64>b.length);
        this.raw(b.dataStart, b.length);
        break;
      }
      case Kind.Text: {
        const utf8 = String.UTF8.encode(changetype<CborText>(v).value, false, String.UTF8.ErrorMode.REPLACE);
        this.head(3, <u64>utf8.byteLength);
        this.raw(changetype<usize>(utf8), utf8.byteLength);
        break;
      }
      case Kind.Array: {
        const items = changetype<CborArray>(v).items;
        const n = items.length;
        this.head(4, <u64>n);
        for (let i = 0; i < n; i++) this.value(unchecked(items[i]));
        break;
      }
      default: {
        const sorted = inKeyOrder(changetype<CborMap>(v).entries);
        const n = sorted.length;
        this.head(5, <u64>n);
        for (let i = 0; i < n; i++) {
          const e = unchecked(sorted[i]);
          this.raw(e.keyBytes.dataStart, e.keyBytes.length);
          this.value(e.value);
        }
      }
    }
  }

  /**
   * The bytes written. A buffer written to its end is returned as it is (the writer is not used
   * again): a large byte string, written last, grows the buffer to exactly its end, so hashing a
   * payload through a host function holds it twice in memory rather than three times.
   */
  finish(): Uint8Array {
    return this.pos == this.buf.length ? this.buf : this.buf.slice(0, this.pos);
  }
}
