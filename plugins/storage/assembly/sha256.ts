/** SHA-256 (FIPS 180-4), in the guest: node ids must be known before the one blocks_put of an operation. */

// @ts-ignore: decorator
@lazy const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

// @ts-ignore: decorator
@lazy const W = new StaticArray<u32>(64);

/** The SHA-256 digest of `data` (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  let h0: u32 = 0x6a09e667, h1: u32 = 0xbb67ae85, h2: u32 = 0x3c6ef372, h3: u32 = 0xa54ff53a;
  let h4: u32 = 0x510e527f, h5: u32 = 0x9b05688c, h6: u32 = 0x1f83d9ab, h7: u32 = 0x5be0cd19;
  const len = data.length;
  const full = len >> 6;
  // The last one or two blocks, padded.
  const restLen = len - (full << 6);
  const tailBlocks = restLen + 9 <= 64 ? 1 : 2;
  const tail = new Uint8Array(tailBlocks << 6);
  memory.copy(tail.dataStart, data.dataStart + (<usize>full << 6), restLen);
  unchecked(tail[restLen] = 0x80);
  store<u64>(tail.dataStart + <usize>(tail.length - 8), bswap<u64>(<u64>len << 3));
  const total = full + tailBlocks;
  for (let b = 0; b < total; b++) {
    const p: usize = b < full ? data.dataStart + (<usize>b << 6) : tail.dataStart + (<usize>(b - full) << 6);
    for (let i = 0; i < 16; i++) unchecked(W[i] = bswap<u32>(load<u32>(p + (<usize>i << 2))));
    for (let i = 16; i < 64; i++) {
      const w15 = unchecked(W[i - 15]);
      const w2 = unchecked(W[i - 2]);
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      unchecked(W[i] = unchecked(W[i - 16]) + s0 + unchecked(W[i - 7]) + s1);
    }
    let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = h + S1 + ch + unchecked(K[i]) + unchecked(W[i]);
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const mj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = S0 + mj;
      h = g; g = f; f = e; e = d + t1; d = c; c = bb; bb = a; a = t1 + t2;
    }
    h0 += a; h1 += bb; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
  }
  const out = new Uint8Array(32);
  const o = out.dataStart;
  store<u32>(o, bswap<u32>(h0), 0); store<u32>(o, bswap<u32>(h1), 4);
  store<u32>(o, bswap<u32>(h2), 8); store<u32>(o, bswap<u32>(h3), 12);
  store<u32>(o, bswap<u32>(h4), 16); store<u32>(o, bswap<u32>(h5), 20);
  store<u32>(o, bswap<u32>(h6), 24); store<u32>(o, bswap<u32>(h7), 28);
  return out;
}
