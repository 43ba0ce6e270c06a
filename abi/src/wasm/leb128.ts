/** Unsigned LEB128, the integer encoding of WebAssembly section headers and vectors. */
import { Mcp0Error } from '../errors/index.js';

/** Encode a u32 as unsigned LEB128. */
export function encodeU32(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Mcp0Error('EUSAGE', `LEB128: expected a u32, got ${n}`);
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return Uint8Array.from(out);
}

/** Decode a u32 at `offset`; returns the value and the offset after it. Rejects overlong and truncated input. */
export function decodeU32(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new Mcp0Error('ENOTWASM', `LEB128: truncated at offset ${offset + i}`, { offset });
    result += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (result > 0xffffffff) throw new Mcp0Error('ENOTWASM', `LEB128: value over u32 at offset ${offset}`, { offset });
      return [result, offset + i + 1];
    }
  }
  throw new Mcp0Error('ENOTWASM', `LEB128: more than 5 bytes at offset ${offset}`, { offset });
}
