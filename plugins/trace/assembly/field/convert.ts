/**
 * Conversions between field elements (Montgomery form, see ../generated/params.ts) and the
 * outside world: decimal strings and 32-byte big-endian integers. Inputs at or above p are
 * reduced mod p, as circomlibjs's `F.e` does, so a decimal string of any length names x mod p.
 */
import { FR_BYTES, LIMB_BITS, LIMB_MASK, R2_MONT } from "../generated/params";
import { mul, add, zero, fromMont } from "./arith";

/** 10^9 in Montgomery form (the decimal chunk base). */
const BILLION_MONT: usize = memory.data(FR_BYTES);
const CHUNK: usize = memory.data(FR_BYTES);
const PLAIN: usize = memory.data(FR_BYTES);
/** A 256-bit integer as 8 little-endian u32 words. */
const WORDS: usize = memory.data(32);
let ready = false;

/** CHUNK = the plain value v < 2^58. */
function setChunk(v: u64): void {
  zero(CHUNK);
  store<u32>(CHUNK, <u32>v & LIMB_MASK, 0);
  store<u32>(CHUNK, <u32>(v >> LIMB_BITS), 4);
}

function init(): void {
  if (ready) return;
  setChunk(1_000_000_000);
  mul(BILLION_MONT, CHUNK, R2_MONT);
  ready = true;
}

/**
 * r = the decimal string s mod p, in Montgomery form. Returns false (r unspecified) when s is
 * empty or holds anything but ASCII digits 0-9. Up to 77 digits (< 2^256) the integer is built in
 * 32-bit words and converted with one multiplication; longer strings are reduced as they are read.
 */
export function fromDecimal(r: usize, s: string): bool {
  const n = s.length;
  if (n == 0) return false;
  if (n > 77) return fromLongDecimal(r, s);
  memory.fill(WORDS, 0, 32);
  let i = 0;
  let end = n % 9;
  if (end == 0) end = 9;
  let scale: u64 = 1;
  for (let k = 0; k < end; k++) scale *= 10;
  while (i < n) {
    let v: u32 = 0;
    for (; i < end; i++) {
      const c = <u32>s.charCodeAt(i) - 48;
      if (c > 9) return false;
      v = v * 10 + c;
    }
    // WORDS = WORDS·10^k + v
    let carry = <u64>v;
    for (let w = 0; w < 8; w++) {
      const p = WORDS + (<usize>w << 2);
      const x = <u64>load<u32>(p) * scale + carry;
      store<u32>(p, <u32>x);
      carry = x >> 32;
    }
    scale = 1_000_000_000;
    end += 9;
  }
  fromWords(r);
  return true;
}

/** fromDecimal for any length: r = r·10^9 + chunk, mod p, chunk by chunk. */
function fromLongDecimal(r: usize, s: string): bool {
  init();
  const n = s.length;
  zero(r);
  let i = 0;
  let end = n % 9;
  if (end == 0) end = 9;
  while (i < n) {
    let v: u32 = 0;
    for (; i < end; i++) {
      const c = <u32>s.charCodeAt(i) - 48;
      if (c > 9) return false;
      v = v * 10 + c;
    }
    setChunk(v);
    mul(r, r, BILLION_MONT);
    mul(PLAIN, CHUNK, R2_MONT);
    add(r, r, PLAIN);
    end += 9;
  }
  return true;
}

/** WORDS = the canonical value of a as 8 little-endian u32 words. */
function toWords(a: usize): void {
  fromMont(PLAIN, a);
  let acc: u64 = 0;
  let bits = 0;
  let w = 0;
  for (let i = 0; i < 9; i++) {
    acc |= <u64>load<u32>(PLAIN + (<usize>i << 2)) << bits;
    bits += LIMB_BITS;
    while (bits >= 32 && w < 8) {
      store<u32>(WORDS + (<usize>w << 2), <u32>acc);
      w++;
      acc >>= 32;
      bits -= 32;
    }
  }
  if (w < 8) store<u32>(WORDS + (<usize>w << 2), <u32>acc);
}

/** r = the plain 256-bit integer in WORDS, mod p, in Montgomery form. */
function fromWords(r: usize): void {
  let acc: u64 = 0;
  let bits = 0;
  let w = 0;
  for (let i = 0; i < 9; i++) {
    if (bits < LIMB_BITS && w < 8) {
      acc |= <u64>load<u32>(WORDS + (<usize>w << 2)) << bits;
      w++;
      bits += 32;
    }
    store<u32>(PLAIN + (<usize>i << 2), <u32>acc & LIMB_MASK);
    acc >>= LIMB_BITS;
    bits -= LIMB_BITS;
  }
  // Any value < 2^261 times R² mod p gives a result < 2p: no reduction needed first.
  mul(r, PLAIN, R2_MONT);
}

/** Room for the decimal digits of a 256-bit value (78), as UTF-16. */
const DIGITS: usize = memory.data(2 * 81);

/** The decimal string of a, without leading zeros ("0" for zero). */
export function toDecimal(a: usize): string {
  toWords(a);
  // Repeated division by 10^9 over the words still in use, filling DIGITS from the end.
  let top = 7;
  while (top > 0 && load<u32>(WORDS + (<usize>top << 2)) == 0) top--;
  let pos = 81;
  for (;;) {
    let rem: u64 = 0;
    for (let i = top; i >= 0; i--) {
      const p = WORDS + (<usize>i << 2);
      const cur = (rem << 32) | <u64>load<u32>(p);
      const q = cur / 1_000_000_000;
      rem = cur - q * 1_000_000_000;
      store<u32>(p, <u32>q);
    }
    while (top > 0 && load<u32>(WORDS + (<usize>top << 2)) == 0) top--;
    let chunk = <u32>rem;
    const last = top == 0 && load<u32>(WORDS) == 0;
    for (let k = 0; k < 9; k++) {
      pos--;
      store<u16>(DIGITS + (<usize>pos << 1), <u16>(48 + chunk % 10));
      chunk /= 10;
      if (last && chunk == 0) break;
    }
    if (last) break;
  }
  return String.UTF16.decodeUnsafe(DIGITS + (<usize>pos << 1), <usize>(81 - pos) << 1);
}

/** r = the 32-byte big-endian integer at src mod p, in Montgomery form. */
export function fromBytesBE(r: usize, src: usize): void {
  for (let i = 0; i < 8; i++) {
    store<u32>(WORDS + (<usize>i << 2), bswap<u32>(load<u32>(src + 28 - (<usize>i << 2))));
  }
  fromWords(r);
}

/** The canonical 32-byte big-endian encoding of a, at dst. */
export function toBytesBE(dst: usize, a: usize): void {
  toWords(a);
  for (let i = 0; i < 8; i++) {
    store<u32>(dst + 28 - (<usize>i << 2), bswap<u32>(load<u32>(WORDS + (<usize>i << 2))));
  }
}
