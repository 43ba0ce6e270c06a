/**
 * A fast reader of the common shape of a request: one CBOR map of at most 8 text keys whose values
 * are text, bytes, uints or null (what get, put and snapshot take). It reads the bytes in place,
 * without building a CBOR value tree, and is exactly as strict as the library's decoder: shortest
 * heads, keys sorted by their encoding and unique, valid UTF-8, no trailing bytes. Anything else
 * (another shape, or input the strict decoder would refuse) gives null, and the export reads its
 * input through the library's `Args` as before, which produces the same values or the error.
 */
import { isUtf8 } from "@mcp0/abi/as";

const MAX_FIELDS: i32 = 8;

export class Field {
  constructor(public key: Uint8Array, public major: u32, public value: Uint8Array, public uint: u64) {}
}

export class Fast {
  fields: Array<Field> = new Array<Field>();
  /** The first field asked for with the wrong type (the export then falls back to Args, which names it). */
  wrong: bool = false;

  find(name: string): Field | null {
    const n = name.length;
    for (let i = 0; i < this.fields.length; i++) {
      const f = unchecked(this.fields[i]);
      const k = f.key;
      if (k.length != n) continue;
      let same = true;
      for (let j = 0; j < n; j++) if (<i32>load<u8>(k.dataStart + <usize>j) != name.charCodeAt(j)) { same = false; break; }
      if (same) return f;
    }
    return null;
  }

  /** A required text field's UTF-8 bytes (null and `wrong` when absent or another type). */
  text(name: string): Uint8Array | null {
    const f = this.find(name);
    if (f === null || f.major != 3) { this.wrong = true; return null; }
    return f.value;
  }

  /** A required byte string. */
  bytes(name: string): Uint8Array | null {
    const f = this.find(name);
    if (f === null || f.major != 2) { this.wrong = true; return null; }
    return f.value;
  }

  /** An optional byte string: null when absent or null. */
  optBytes(name: string): Uint8Array | null {
    const f = this.find(name);
    if (f === null || f.major == 7) return null;
    if (f.major != 2) { this.wrong = true; return null; }
    return f.value;
  }

  /** True when the request has no other field than `names` (else the export takes the general path). */
  only(names: Array<string>): bool {
    for (let i = 0; i < this.fields.length; i++) {
      const k = unchecked(this.fields[i]).key;
      let known = false;
      for (let j = 0; j < names.length; j++) {
        const n = unchecked(names[j]);
        if (k.length != n.length) continue;
        let same = true;
        for (let c = 0; c < n.length; c++) if (<i32>load<u8>(k.dataStart + <usize>c) != n.charCodeAt(c)) { same = false; break; }
        if (same) { known = true; break; }
      }
      if (!known) return false;
    }
    return true;
  }
}

let pos: i32 = 0;

/** A shortest-form head of `major` at pos: its argument, or -1. */
function head(b: Uint8Array, major: u32): i64 {
  if (pos >= b.length) return -1;
  const p = b.dataStart + <usize>pos;
  const ib = <u32>load<u8>(p);
  if ((ib >> 5) != major) return -1;
  const ai = ib & 31;
  if (ai < 24) { pos += 1; return <i64>ai; }
  if (ai == 24) {
    if (pos + 2 > b.length) return -1;
    const v = <i64>load<u8>(p, 1);
    if (v < 24) return -1;
    pos += 2;
    return v;
  }
  if (ai == 25) {
    if (pos + 3 > b.length) return -1;
    const v = <i64>bswap<u16>(load<u16>(p, 1));
    if (v < 0x100) return -1;
    pos += 3;
    return v;
  }
  if (ai == 26) {
    if (pos + 5 > b.length) return -1;
    const v = <i64>bswap<u32>(load<u32>(p, 1));
    if (v < 0x10000) return -1;
    pos += 5;
    return v;
  }
  if (ai == 27) {
    if (pos + 9 > b.length) return -1;
    const v = bswap<u64>(load<u64>(p, 1));
    if (v < 0x100000000 || v > <u64>i64.MAX_VALUE) return -1;
    pos += 9;
    return <i64>v;
  }
  return -1;
}

/** Compare two encoded keys (text heads + bytes, all shorter than 24 bytes here): their bytes. */
function keyOrder(a: Uint8Array, b: Uint8Array): i32 {
  // Encoded keys of short texts are (0x60 | length) then the bytes: shorter keys sort first.
  if (a.length != b.length) return a.length - b.length;
  return memory.compare(a.dataStart, b.dataStart, a.length);
}

/** The request's fields, or null when it is not of the simple shape (or not strictly valid). */
export function fastArgs(b: Uint8Array): Fast | null {
  pos = 0;
  if (b.length == 0) return null;
  const ib = <u32>load<u8>(b.dataStart);
  if ((ib >> 5) != 5 || (ib & 31) > <u32>MAX_FIELDS) return null;
  const count = <i32>(ib & 31);
  pos = 1;
  const out = new Fast();
  let prev: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const kn = head(b, 3);
    if (kn < 0 || kn >= 24 || pos + <i32>kn > b.length) return null;
    const key = b.subarray(pos, pos + <i32>kn);
    if (!isUtf8(key.dataStart, key.length)) return null;
    pos += <i32>kn;
    if (prev !== null && keyOrder(prev, key) >= 0) return null;
    prev = key;
    if (pos >= b.length) return null;
    const vb = <u32>load<u8>(b.dataStart + <usize>pos);
    const major = vb >> 5;
    if (major == 2 || major == 3) {
      const n = head(b, major);
      if (n < 0 || <i64>pos + n > <i64>b.length) return null;
      const v = b.subarray(pos, pos + <i32>n);
      if (major == 3 && !isUtf8(v.dataStart, v.length)) return null;
      pos += <i32>n;
      out.fields.push(new Field(key, major, v, 0));
    } else if (major == 0) {
      const n = head(b, 0);
      if (n < 0) return null;
      out.fields.push(new Field(key, 0, b.subarray(0, 0), <u64>n));
    } else if (vb == 0xf6) {
      pos++;
      out.fields.push(new Field(key, 7, b.subarray(0, 0), 0));
    } else {
      return null;
    }
  }
  if (pos != b.length) return null;
  return out;
}
