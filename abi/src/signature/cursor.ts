/**
 * A bounds-checked reader over the signature payload. Every overrun, oversize count or stray byte
 * becomes an `ESIGNATURE` LoadError naming the field and its offset in the module, never a
 * RangeError, and counts are checked against what the bytes left could hold before any loop runs.
 */
import { LoadError, Mcp0Error } from '../errors/index.js';
import { decodeU32 } from '../wasm/leb128.js';

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
  private pos = 0;
  private readonly bytes: Uint8Array;
  private readonly base: number;
  /**
   * @param bytes the bytes to read
   * @param base offset of `bytes[0]` in the module, for messages
   * @example
   * const c = new Cursor(section.payload, section.end - section.payload.length)
   */
  constructor(bytes: Uint8Array, base: number) {
    this.bytes = bytes;
    this.base = base;
  }

  /** Offset of the next byte, in the module. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.pos;
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
    try {
      const [value, next] = decodeU32(this.bytes, this.pos);
      this.pos = next;
      return value;
    } catch (e) {
      if (e instanceof Mcp0Error) throw malformed(`${field}: ${e.message}`, this.offset);
      throw e;
    }
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
    if (length > this.remaining) throw malformed(`${field}: expected ${length} bytes, only ${this.remaining} remain`, this.offset);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /**
   * A varuint32 length followed by that many bytes; returns a cursor over them.
   * @example
   * const set = c.nested('signed_hashes')
   */
  nested(field: string): Cursor {
    const length = this.u32(`${field} length`);
    const start = this.offset;
    return new Cursor(this.take(length, field), start);
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
