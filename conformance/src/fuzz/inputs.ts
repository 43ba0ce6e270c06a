/**
 * Generator (c): hostile inputs for every export, drawn from the seeded PRNG. Besides random bytes
 * they are CBOR written by hand (not by the ABI's encoder, which only writes well-formed
 * deterministic CBOR): plausible argument maps that get past a plugin's first checks, the same
 * truncated or with flipped bits, lengths that lie, nesting far past the decoder's depth limit,
 * and large payloads up to the kernel's input limit.
 */
import { encodeCbor } from '@mcp0/abi';
import type { Prng } from './prng.js';

/** One input: what it is (for reports) and its bytes. */
export interface FuzzInput {
  kind: string;
  bytes: Uint8Array;
}

/** Argument names the reference plugins and agents read, so maps sometimes reach their logic. */
const KEYS = [
  'name',
  'key',
  'by',
  'agent',
  'value',
  'data',
  'prefix',
  'after',
  'limit',
  'cursor',
  'id',
  'ids',
  'root',
  'rootA',
  'rootB',
  'delta',
  'puts',
  'deletes',
  'keep',
  'seq',
  'from',
  'to',
  'document',
  'agreement',
  'consumer',
  'storageBytes',
  'window',
  'text',
  'tags',
  'query',
  'op',
  'outcome',
  'time',
  'intent',
  'input',
  'target',
  'topic',
  'level',
  'msg',
  'n',
];

/** Writes raw CBOR, including the non-canonical forms the ABI's encoder never produces. */
class CborWriter {
  readonly #out: number[] = [];
  constructor(readonly rng: Prng) {}

  /** A head: major type and argument, in the shortest form or (sometimes) a longer one. */
  head(major: number, value: number | bigint): void {
    const v = BigInt(value);
    let width = v < 24n ? 0 : v < 0x100n ? 1 : v < 0x10000n ? 2 : v < 0x100000000n ? 4 : 8;
    if (this.rng.chance(0.03) && width < 8) width = this.rng.pick([1, 2, 4, 8].filter((w) => w > width));
    const info = width === 0 ? Number(v) : { 1: 24, 2: 25, 4: 26, 8: 27 }[width]!;
    this.#out.push((major << 5) | info);
    for (let i = width - 1; i >= 0; i--) this.#out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  }

  raw(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.#out.push(bytes[i]!);
  }

  text(s: string): void {
    const b = new TextEncoder().encode(s);
    this.head(3, b.length);
    this.raw(b);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.#out);
  }
}

/** Integers at the edges decoders and plugins get wrong. */
const EDGE_INTS: (number | bigint)[] = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2n ** 64n - 1n];

/** A random CBOR data item of at most `depth` levels, written into `w`. */
function value(w: CborWriter, rng: Prng, depth: number): void {
  const kind = rng.weighted({
    uint: 4,
    nint: 2,
    text: 4,
    bytes: 3,
    array: depth > 0 ? 2 : 0,
    map: depth > 0 ? 3 : 0,
    simple: 2,
    float: 1,
    tag: 1,
    indefinite: 1,
  });
  switch (kind) {
    case 'uint':
      return w.head(0, rng.chance(0.5) ? rng.pick(EDGE_INTS) : rng.int(1000));
    case 'nint':
      return w.head(1, rng.chance(0.5) ? rng.pick(EDGE_INTS) : rng.int(1000));
    case 'text': {
      const n = rng.size(300);
      if (rng.chance(0.1)) {
        // Not UTF-8: a lone continuation byte, an overlong form, a surrogate.
        w.head(3, n + 3);
        w.raw(
          rng.pick([
            [0x80, 0x41, 0x41],
            [0xc0, 0xaf, 0x41],
            [0xed, 0xa0, 0x80],
          ]),
        );
        return w.raw(new Uint8Array(n).fill(0x61));
      }
      return w.text(
        rng.chance(0.5)
          ? rng.pick(KEYS) + '/'.repeat(rng.int(2)) + rng.int(100)
          : String.fromCharCode(...Array.from({ length: n }, () => rng.range(0x20, 0x7e))),
      );
    }
    case 'bytes': {
      const b = rng.bytes(rng.chance(0.1) ? rng.pick([32, 64]) : rng.size(2048));
      w.head(2, b.length);
      return w.raw(b);
    }
    case 'array': {
      const n = rng.size(12);
      w.head(4, n);
      for (let i = 0; i < n; i++) value(w, rng, depth - 1);
      return;
    }
    case 'map': {
      const n = rng.size(8);
      w.head(5, n);
      for (let i = 0; i < n; i++) {
        if (rng.chance(0.85)) w.text(rng.pick(KEYS));
        else value(w, rng, 0);
        value(w, rng, depth - 1);
      }
      return;
    }
    case 'simple':
      // false, true, null, undefined, and the reserved or unassigned simple values.
      return w.raw(rng.pick([[0xf4], [0xf5], [0xf6], [0xf7], [0xf0], [0xf8, rng.int(256)]]));
    case 'float':
      w.raw([0xfb]);
      return w.raw(rng.pick([[0x7f, 0xf8, 0, 0, 0, 0, 0, 0], [0x7f, 0xf0, 0, 0, 0, 0, 0, 0], [0x43, 0x30, 0, 0, 0, 0, 0, 1], Array.from(rng.bytes(8))]));
    case 'tag':
      w.head(6, rng.pick([0, 1, 2, 24, 55799, 2 ** 32]));
      return value(w, rng, depth - 1);
    case 'indefinite': {
      // Indefinite-length strings, arrays and maps: not deterministic CBOR, but well-formed.
      const major = rng.pick([2, 3, 4, 5]);
      w.raw([(major << 5) | 31]);
      const n = rng.size(4);
      for (let i = 0; i < n; i++) {
        if (major === 2 || major === 3) {
          w.head(major, 1);
          w.raw([0x61]);
        } else {
          value(w, rng, 0);
          if (major === 5) value(w, rng, 0);
        }
      }
      return w.raw([0xff]);
    }
  }
}

/** A plausible argument map: mostly names a plugin reads, with values of any type. */
function argumentMap(rng: Prng): Uint8Array {
  const w = new CborWriter(rng);
  const n = rng.range(0, 6);
  w.head(5, n);
  for (let i = 0; i < n; i++) {
    w.text(rng.pick(KEYS));
    value(w, rng, 3);
  }
  return w.bytes();
}

/** A map of the argument names plugins commonly take around a byte string of `size` bytes. */
function payload(size: number): Uint8Array {
  return encodeCbor({ agent: 'fuzz', key: 'fuzz/big', value: new Uint8Array(size), data: 'x' });
}

/**
 * Nesting through one-element arrays or maps, tags or indefinite arrays, `depth` levels deep.
 * (The ABI suite's inputs.ts has the first two; its module also loads the SDK, which the fuzz
 * target must not.)
 */
function nested(rng: Prng, depth: number): Uint8Array {
  switch (rng.int(4)) {
    case 0: {
      const out = new Uint8Array(depth + 1).fill(0x81); // [[[ ... 0 ]]]
      out[depth] = 0x00;
      return out;
    }
    case 1: {
      const out = new Uint8Array(depth * 3 + 1); // {"a": {"a": ... 0}}
      for (let i = 0; i < depth; i++) out.set([0xa1, 0x61, 0x61], i * 3);
      return out;
    }
    case 2: {
      const out = new Uint8Array(depth + 1).fill(0xc6); // tag 6 around tag 6 around ... 0
      out[depth] = 0x00;
      return out;
    }
    default: {
      const out = new Uint8Array(depth * 2 + 1);
      out.fill(0x9f, 0, depth); // [_ [_ [_ ... 0 ] ] ]
      out[depth] = 0x00;
      out.fill(0xff, depth + 1);
      return out;
    }
  }
}

/** A head announcing far more than follows: a byte string, an array or a map of 2^32..2^64 items. */
function lyingLength(rng: Prng): Uint8Array {
  const w = new CborWriter(rng);
  w.head(rng.pick([2, 3, 4, 5]), rng.pick([2 ** 32 - 1, 2 ** 31, 2n ** 64n - 1n, 2n ** 63n, 65_536]));
  w.raw(rng.bytes(rng.int(16)));
  return w.bytes();
}

/**
 * One hostile input. `maxInputBytes` is the kernel's input limit: large payloads stay within it,
 * and one kind in a hundred is one byte over it (it must be refused with ETOOBIG).
 * @example
 * const { kind, bytes } = hostileInput(new Prng('seed/0'), 4 << 20)
 */
export function hostileInput(rng: Prng, maxInputBytes: number, large = true): FuzzInput {
  const kind = rng.weighted({
    empty: 4,
    random: 18,
    map: 26,
    truncated: 14,
    flipped: 10,
    nested: 10,
    lying: 5,
    wrongTop: 5,
    large: large ? 4 : 0,
    overLimit: large ? 1 : 0,
  });
  switch (kind) {
    case 'empty':
      return { kind, bytes: new Uint8Array(0) };
    case 'random':
      return { kind, bytes: rng.bytes(rng.size(65_536)) };
    case 'map':
      return { kind, bytes: argumentMap(rng) };
    case 'truncated': {
      const whole = argumentMap(rng);
      return { kind, bytes: whole.subarray(0, rng.int(Math.max(1, whole.length))) };
    }
    case 'flipped': {
      const b = argumentMap(rng).slice();
      for (let i = rng.range(1, 4); i > 0 && b.length > 0; i--) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return { kind, bytes: b };
    }
    case 'nested':
      return { kind, bytes: nested(rng, rng.pick([63, 64, 65, 200, 10_000, 100_000, 1_000_000])) };
    case 'lying':
      return { kind, bytes: lyingLength(rng) };
    case 'wrongTop': {
      // A top-level item of the wrong type, or a valid item followed by trailing bytes.
      const w = new CborWriter(rng);
      value(w, rng, 2);
      if (rng.chance(0.5)) w.raw(rng.bytes(rng.range(1, 8)));
      return { kind, bytes: w.bytes() };
    }
    case 'large': {
      const size = rng.range(256 << 10, Math.max(256 << 10, maxInputBytes - 64));
      return { kind, bytes: rng.chance(0.5) ? payload(size) : rng.bytes(size) };
    }
    case 'overLimit':
      return { kind, bytes: new Uint8Array(maxInputBytes + 1) };
  }
}
