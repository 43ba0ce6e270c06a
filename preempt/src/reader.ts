/**
 * A bounds-checked cursor over module bytes for the preemption instrumenter. Every read past
 * `end`, every overlong or truncated LEB128 becomes a typed InstrumentError with the offset, never
 * a RangeError or `undefined` arithmetic.
 */
import { malformed } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads bytes in [pos, end). `base` is added to offsets in errors, so a cursor over a section
 * payload reports offsets in the whole module.
 * @example
 * const r = new Reader(payload, 0, payload.length, sectionStart)
 * const count = r.u32()
 */
export class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
    readonly base = 0,
  ) {
    this.pos = start;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The module offset of the cursor (or of `at`). */
  offset(at = this.pos): number {
    return this.base + at;
  }

  byte(): number {
    if (this.pos >= this.end) throw malformed('unexpected end of data', this.offset());
    return this.bytes[this.pos++]!;
  }

  /** Advance by `n` bytes. */
  skip(n: number): void {
    if (n > this.end - this.pos) throw malformed(`expected ${n} more bytes, ${this.end - this.pos} remain`, this.offset());
    this.pos += n;
  }

  /** An unsigned LEB128 u32. */
  u32(): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw malformed('LEB128 value over u32', this.offset(start));
        return result;
      }
    }
    throw malformed('LEB128 longer than 5 bytes', this.offset(start));
  }

  /** A signed LEB128 of at most `bits` bits (33 for block types); returns its value. */
  signed(bits: number): number {
    const start = this.pos;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        const width = 7 * (i + 1);
        return b & 0x40 ? result - 2 ** width : result;
      }
    }
    throw malformed(`LEB128 longer than ${maxBytes} bytes`, this.offset(start));
  }

  /** Skip a LEB128 of at most `maxBytes` bytes without computing it (i64 constants, 64-bit offsets). */
  skipLeb(maxBytes: number): void {
    const start = this.pos;
    for (let i = 0; i < maxBytes; i++) if ((this.byte() & 0x80) === 0) return;
    throw malformed(`LEB128 longer than ${maxBytes} bytes`, this.offset(start));
  }

  /** A length-prefixed name, decoded leniently (only compared, never trusted). */
  name(): string {
    const n = this.u32();
    const start = this.pos;
    this.skip(n);
    return utf8.decode(this.bytes.subarray(start, start + n));
  }
}
