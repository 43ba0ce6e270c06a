/**
 * The fuzz campaign's one source of randomness: a small seeded PRNG (sfc32, seeded through
 * SHA-256 of a label), so that every module, every mutation and every hostile input is a pure
 * function of the campaign seed and a run can be replayed from the seed a crash report names.
 */
import { createHash } from 'node:crypto';

/**
 * A deterministic random stream.
 * @example
 * const rng = new Prng('fuzz/42'); rng.int(10) // the same number on every run
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(label: string) {
    const h = createHash('sha256').update(label).digest();
    this.#a = h.readUInt32LE(0);
    this.#b = h.readUInt32LE(4);
    this.#c = h.readUInt32LE(8);
    this.#d = h.readUInt32LE(12) | 1;
    // sfc32 mixes poorly in its first outputs; the reference implementation discards a dozen.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A child stream for a sub-task: independent of how much this stream is used afterwards. */
  fork(label: string): Prng {
    return new Prng(`${this.u32()}/${this.u32()}/${label}`);
  }

  /** 32 random bits as an unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** One key of `weights`, chosen in proportion to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.float() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) {
      if ((r -= w) < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }

  /** A size skewed towards small values: mostly under 64, sometimes up to `max`. */
  size(max: number): number {
    const bits = this.int(Math.max(1, Math.ceil(Math.log2(max + 1))) + 1);
    return Math.min(max, this.int(2 ** bits));
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = this.u32();
      out[i] = v;
      out[i + 1] = v >>> 8;
      out[i + 2] = v >>> 16;
      out[i + 3] = v >>> 24;
    }
    for (; i < n; i++) out[i] = this.u32();
    return out;
  }
}
