/**
 * Reading and editing a WebAssembly module at the section level: enough to find, add and strip
 * custom sections (manifest, signature) and to rewrite the memory maximum, without a full decoder.
 */
import { LoadError, Mcp0Error } from '../errors/index.js';
import { decodeU32, encodeU32 } from './leb128.js';

/** The 8-byte module header: magic `\0asm` and version 1. */
export const WASM_HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

/** One section as it sits in the module's bytes. */
export interface WasmSection {
  /** Section id: 0 is custom, 1..12 the standard ones. */
  readonly id: number;
  /** Offset of the section's id byte in the module. */
  readonly start: number;
  /** Offset just after the section. */
  readonly end: number;
  /** The section's payload (for a custom section, after its name). A view, not a copy. */
  readonly payload: Uint8Array;
  /** A custom section's name. */
  readonly name?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** True when `bytes` start with the WebAssembly header. */
export function hasWasmHeader(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && WASM_HEADER.every((b, i) => bytes[i] === b);
}

/**
 * Split a module into its sections. Throws `ENOTWASM` naming the offset of anything malformed.
 * @example
 * const names = parseSections(bytes).filter(s => s.id === 0).map(s => s.name)
 */
export function parseSections(bytes: Uint8Array): WasmSection[] {
  if (!(bytes instanceof Uint8Array)) throw new LoadError('ENOTWASM', `expected module bytes, got ${typeof bytes}`, { check: 'wasm' });
  if (!hasWasmHeader(bytes)) {
    const got = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new LoadError('ENOTWASM', `not a WebAssembly module: expected header 00 61 73 6d 01 00 00 00, got ${got || 'nothing'}`, { check: 'wasm' });
  }
  const sections: WasmSection[] = [];
  let pos = 8;
  try {
    while (pos < bytes.length) {
      const start = pos;
      const id = bytes[pos++]!;
      if (id > 12) throw new Mcp0Error('ENOTWASM', `unknown section id ${id} at offset ${start}`);
      const [size, contentStart] = decodeU32(bytes, pos);
      const end = contentStart + size;
      if (end > bytes.length) throw new Mcp0Error('ENOTWASM', `section at offset ${start} claims ${size} bytes, only ${bytes.length - contentStart} remain`);
      if (id === 0) {
        const [nameLen, nameStart] = decodeU32(bytes, contentStart);
        if (nameStart + nameLen > end) throw new Mcp0Error('ENOTWASM', `custom section name at offset ${start} overruns its section`);
        const name = utf8.decode(bytes.subarray(nameStart, nameStart + nameLen));
        sections.push({ id, start, end, name, payload: bytes.subarray(nameStart + nameLen, end) });
      } else {
        sections.push({ id, start, end, payload: bytes.subarray(contentStart, end) });
      }
      pos = end;
    }
  } catch (e) {
    if (e instanceof LoadError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new LoadError('ENOTWASM', `malformed WebAssembly module: ${message}`, { check: 'wasm' }, { cause: e });
  }
  return sections;
}

/** Encode one section: id, LEB128 size, content. */
export function encodeSection(id: number, content: Uint8Array): Uint8Array {
  const size = encodeU32(content.length);
  const out = new Uint8Array(1 + size.length + content.length);
  out[0] = id;
  out.set(size, 1);
  out.set(content, 1 + size.length);
  return out;
}

/** Encode a custom section (id 0) with `name` and `payload`. */
export function encodeCustomSection(name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = utf8Encoder.encode(name);
  return encodeSection(0, concatBytes(encodeU32(nameBytes.length), nameBytes, payload));
}

/** The payloads of every custom section called `name`, in module order. */
export function customSections(bytes: Uint8Array, name: string): Uint8Array[] {
  return parseSections(bytes)
    .filter((s) => s.id === 0 && s.name === name)
    .map((s) => s.payload);
}

/** A copy of the module without any custom section called `name`. */
export function removeCustomSections(bytes: Uint8Array, name: string): Uint8Array {
  const keep = parseSections(bytes).filter((s) => !(s.id === 0 && s.name === name));
  return concatBytes(WASM_HEADER, ...keep.map((s) => bytes.subarray(s.start, s.end)));
}

/** A copy of the module with a custom section appended at the end. */
export function appendCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  parseSections(bytes);
  return concatBytes(bytes, encodeCustomSection(name, payload));
}

/** Concatenate byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
