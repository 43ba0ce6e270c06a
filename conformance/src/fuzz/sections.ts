/**
 * Just enough WebAssembly binary editing for the mutation generator: a module as a list of sections
 * that can be edited and joined again, LEB128s read without throwing (mutants are malformed on
 * purpose) and written in any width, the function imports and exported bodies of a module, and a
 * new global.
 */
import { WASM_HEADER, concatBytes, encodeSection, encodeU32, parseSections } from '@mcp0/abi';

/** One section, as content (for a custom section: its name and payload) or as verbatim bytes. */
export interface Section {
  id: number;
  content: Uint8Array;
  /** Bytes written as they are, framing included (a section whose size was made to lie). */
  framed?: Uint8Array;
}

/** A LEB128 read without throwing: value, length in bytes, or undefined when there is none. */
export function readLeb(bytes: Uint8Array, offset: number): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[offset + i];
    if (b === undefined) return undefined;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  return undefined;
}

/** `value` (mod 2^32) as LEB128, padded to `width` bytes when given (an overlong but valid form). */
export function leb(value: number, width?: number): Uint8Array {
  const v = ((value % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const min = encodeU32(v);
  if (width === undefined || width <= min.length) return min;
  const out = new Uint8Array(Math.min(5, width));
  let n = v;
  for (let i = 0; i < out.length; i++) {
    out[i] = (n % 128) | (i < out.length - 1 ? 0x80 : 0);
    n = Math.floor(n / 128);
  }
  return out;
}

/** A copy of `bytes` with `remove` bytes at `at` replaced by `insert`. */
export function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  return concatBytes(bytes.subarray(0, at), insert, bytes.subarray(at + remove));
}

/** A module as its sections (throws ENOTWASM when it does not split, like the kernel's first check). */
export function split(module: Uint8Array): Section[] {
  return parseSections(module).map((s) => {
    const size = readLeb(module, s.start + 1)!;
    return { id: s.id, content: module.subarray(s.start + 1 + size.length, s.end) };
  });
}

/** The module of `sections`, each re-framed with its true size unless it carries its own framing. */
export function join(sections: readonly Section[]): Uint8Array {
  return concatBytes(WASM_HEADER, ...sections.map((s) => s.framed ?? encodeSection(s.id, s.content)));
}

/** A signed LEB128 of `value` (for i32.const and i64.const immediates). */
export function sleb(value: bigint): Uint8Array {
  const out: number[] = [];
  for (;;) {
    const byte = Number(value & 0x7fn);
    value >>= 7n;
    const done = (value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return Uint8Array.from(out);
  }
}

/** The length of the signed LEB128 at `at` (up to `max` bytes), or undefined. */
export function slebLength(bytes: Uint8Array, at: number, max: number): number | undefined {
  for (let i = 0; i < max; i++) {
    const b = bytes[at + i];
    if (b === undefined) return undefined;
    if ((b & 0x80) === 0) return i + 1;
  }
  return undefined;
}

/** Function imports in order, with their module and name: to find host functions to call. */
export function functionImports(sections: readonly Section[]): { module: string; name: string }[] | undefined {
  const imp = sections.find((s) => s.id === 2);
  if (!imp) return [];
  const b = imp.content;
  const text = (at: number) => {
    const len = readLeb(b, at);
    if (!len) return undefined;
    return { value: new TextDecoder().decode(b.subarray(at + len.length, at + len.length + len.value)), next: at + len.length + len.value };
  };
  const count = readLeb(b, 0);
  if (!count) return undefined;
  let at = count.length;
  const out: { module: string; name: string }[] = [];
  for (let i = 0; i < count.value; i++) {
    const m = text(at);
    const n = m && text(m.next);
    if (!m || !n) return undefined;
    if (b[n.next] !== 0x00) return undefined; // only function imports are understood here
    const type = readLeb(b, n.next + 1);
    if (!type) return undefined;
    out.push({ module: m.value, name: n.value });
    at = n.next + 1 + type.length;
  }
  return out;
}

/** Indices (in the code section) of the bodies of exported functions. */
export function exportedBodies(sections: readonly Section[], importedFunctions: number): number[] {
  const exp = sections.find((s) => s.id === 7);
  if (!exp) return [];
  const b = exp.content;
  const count = readLeb(b, 0);
  if (!count) return [];
  let at = count.length;
  const out: number[] = [];
  for (let i = 0; i < count.value; i++) {
    const len = readLeb(b, at);
    if (!len) return out;
    at += len.length + len.value;
    const kind = b[at];
    const index = readLeb(b, at + 1);
    if (kind === undefined || !index) return out;
    if (kind === 0x00 && index.value >= importedFunctions) out.push(index.value - importedFunctions);
    at += 1 + index.length;
  }
  return out;
}

/** Add a mutable i64 global (initialised to 0) and return its index, or undefined. Needs no imported globals. */
export function addI64Global(sections: Section[]): number | undefined {
  const entry = Uint8Array.of(0x7e, 0x01, 0x42, 0x00, 0x0b);
  const gi = sections.findIndex((s) => s.id === 6);
  if (gi >= 0) {
    const s = sections[gi]!;
    const count = s.framed ? undefined : readLeb(s.content, 0);
    if (!count) return undefined;
    sections[gi] = { id: 6, content: concatBytes(leb(count.value + 1), s.content.subarray(count.length), entry) };
    return count.value;
  }
  // The standard section order: type, import, function, table, memory, tag, global, export, start, element, data count, code, data.
  const order: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };
  const after = sections.findIndex((s) => (order[s.id] ?? 0) > 7);
  sections.splice(after < 0 ? sections.length : after, 0, { id: 6, content: concatBytes(leb(1), entry) });
  return 0;
}
