/**
 * A bounds-checked reader over the signature payload. Every overrun, oversize count or stray byte
 * becomes an `ESIGNATURE` LoadError naming the field and its offset in the module, never a
 * RangeError, and counts are checked against what the bytes left could hold before any loop runs.
 * A nested cursor is a window on the same bytes, not a copy or a view: a section may hold 16,384
 * signatures, and a typed-array view per record is most of what reading them would cost.
 */
import { LoadError } from '../errors/index.js';

/**
 * An `ESIGNATURE` error for a malformed signature section.
 * @example
 * throw malformed('spec_version: expected 0x01, got 0x02', 12)
 */
export function malformed(message: string, offset: number): LoadError {
  return new LoadError('ESIGNATURE', `malformed signature section: ${message} at offset ${offset}`, { check: 'signature', offset });
}

/**
 * Reads fields in order and fails with the field's name.
 * @example
 * const c = new Cursor(payload, 0); const version = c.byte('spec_version')
 */
export class Cursor {
  private pos: number;
  private readonly limit: number;
  private readonly bytes: Uint8Array;
  private readonly base: number;
  /**
   * @param bytes the bytes to read
   * @param base offset of `bytes[0]` in the module, for messages
   * @param start first byte of the window read (default 0)
   * @param limit end of the window read, exclusive (default the end of `bytes`)
   * @example
   * const c = new Cursor(section.payload, section.end - section.payload.length)
   */
  constructor(bytes: Uint8Array, base: number, start = 0, limit = bytes.length) {
    this.bytes = bytes;
    this.base = base;
    this.pos = start;
    this.limit = limit;
  }

  /** Offset of the next byte, in the module. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.limit - this.pos;
  }

  /**
   * One byte.
   * @example
   * const version = c.byte('spec_version')
   */
  byte(field: string): number {
    if (this.remaining < 1) throw malformed(`${field}: expected 1 byte, got end of data`, this.offset);
    return this.bytes[this.pos++]!;
  }

  /**
   * A varuint32.
   * @example
   * const n = c.u32('key_id_len')
   */
  u32(field: string): number {
    // decodeU32's rules (at most 5 bytes, at most 2^32 − 1), read within this window only.
    const at = this.pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (at + i >= this.limit) throw malformed(`${field}: LEB128: truncated after ${i} bytes`, this.offset);
      const byte = this.bytes[at + i]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw malformed(`${field}: LEB128: value over u32`, this.offset);
        this.pos = at + i + 1;
        return value;
      }
    }
    throw malformed(`${field}: LEB128: more than 5 bytes`, this.offset);
  }

  /**
   * A varuint32 count, at most `max` and at most what the remaining bytes can hold at
   * `minItemSize` bytes per item.
   * @example
   * const sets = c.count('signed_hashes_count', 64, 1)
   */
  count(field: string, max: number, minItemSize: number): number {
    const at = this.offset;
    const n = this.u32(field);
    if (n > max) throw malformed(`${field}: expected at most ${max}, got ${n}`, at);
    if (n * minItemSize > this.remaining) throw malformed(`${field}: ${n} items need at least ${n * minItemSize} bytes, only ${this.remaining} remain`, at);
    return n;
  }

  /**
   * The next `length` bytes, as a view.
   * @example
   * const hash = c.take(32, 'hash')
   */
  take(length: number, field: string): Uint8Array {
    this.skip(length, field);
    return this.bytes.subarray(this.pos - length, this.pos);
  }

  /**
   * Step over the next `length` bytes.
   * @example
   * c.skip(32, 'hash')
   */
  skip(length: number, field: string): void {
    if (length > this.remaining) throw malformed(`${field}: expected ${length} bytes, only ${this.remaining} remain`, this.offset);
    this.pos += length;
  }

  /**
   * A varuint32 length followed by that many bytes; returns a cursor over them.
   * @example
   * const set = c.nested('signed_hashes')
   */
  nested(field: string): Cursor {
    const length = this.u32(`${field} length`);
    const start = this.pos;
    this.skip(length, field);
    return new Cursor(this.bytes, this.base, start, start + length);
  }

  /**
   * Require that everything was read: the spec says the data ends with its last signature.
   * @example
   * c.end('signature data')
   */
  end(field: string): void {
    if (this.remaining !== 0) throw malformed(`${field}: expected its end, got ${this.remaining} more bytes`, this.offset);
  }
}
