#!/usr/bin/env node
/**
 * Writes the generated half of abi/src/keys/ed25519-vectors.json: Ed25519 edge cases that the
 * published sets (RFC 8032, Wycheproof, Chalkias et al.'s speccheck) do not cover, built from
 * their definitions with @noble/ed25519's point arithmetic. Each case carries the verdict strict
 * RFC 8032 verification with the cofactored equation gives (what `ed25519Verify` must answer) by
 * construction, not by asking a verifier, so the test can hold both verifiers to it.
 *
 *   node abi/scripts/ed25519-edge-vectors.mjs
 *
 * Deterministic: every scalar comes from SHA-512 of a label, so a rerun writes the same file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;
const here = dirname(fileURLToPath(import.meta.url));
const FILE = join(here, '..', 'src', 'keys', 'ed25519-vectors.json');

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const B = ed.Point.BASE;
const utf8 = new TextEncoder();
const hex = (b) => Buffer.from(b).toString('hex');
const le = (n, len = 32) => {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const fromLe = (b) => b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
const scalar = (label) => fromLe(sha512(utf8.encode(label))) % L;
const mulL = (pt) => pt.multiply(L - 1n, false).add(pt); // L·P: multiply() refuses n >= L
const cat = (...parts) => Uint8Array.from(parts.flatMap((p) => [...p]));
const challenge = (rBytes, aBytes, msg) => fromLe(sha512(cat(rBytes, aBytes, msg))) % L;
/** An encoding of y with the sign bit set or not, bytes as given (so y may be >= p). */
const encodeY = (y, sign) => {
  const b = le(y);
  if (sign) b[31] |= 0x80;
  return b;
};

// The eight small-order points: L·P for points P until a point of order 8 turns up, then its multiples.
let t8;
for (let i = 0; !t8; i++) {
  let p;
  try {
    p = ed.Point.fromBytes(sha512(utf8.encode(`point ${i}`)).subarray(0, 32));
  } catch {
    continue;
  }
  const t = mulL(p);
  if (!t.double().double().is0()) t8 = t; // order 8: 4·T is not the identity
}
const small = [ed.Point.ZERO];
for (let i = 1; i < 8; i++) small.push(small[i - 1].add(t8));

const cases = [];
const add = (name, expected, pub, msg, sig) => cases.push({ name, pub: hex(pub), msg: hex(msg), sig: hex(sig), expected });

// An honest key: a torsion-free A = a·B.
const a = scalar('honest key');
const A = B.multiply(a);
const aBytes = A.toBytes();

// 1. R = r·B + T with T of small order ≠ 0: the cofactored equation holds, the cofactorless one does
//    not (R ≠ s·B − k·A by exactly T). Strict cofactored verification accepts.
for (let i = 1; i < 8; i++) {
  const msg = utf8.encode(`torsion in R ${i}`);
  const r = scalar(`r ${i}`);
  const R = B.multiply(r).add(small[i]);
  const rBytes = R.toBytes();
  const k = challenge(rBytes, aBytes, msg);
  add(`R has a small-order component of order ${order(small[i])}: cofactored only`, true, aBytes, msg, cat(rBytes, le((r + k * a) % L)));
}

// 2. A mixed-order key A = a·B + T8, R = r·B, S = r + k·a: s·B − k·A = R − k·T8, so the
//    cofactorless equation holds only when k ≡ 0 mod 8; the cofactored one always. A is not of
//    small order, so strict verification accepts both kinds.
const Am = A.add(t8);
const amBytes = Am.toBytes();
let zeroMod8 = 0;
let nonZeroMod8 = 0;
for (let i = 0; zeroMod8 < 1 || nonZeroMod8 < 3; i++) {
  const msg = utf8.encode(`mixed-order key ${i}`);
  const r = scalar(`mixed r ${i}`);
  const rBytes = B.multiply(r).toBytes();
  const k = challenge(rBytes, amBytes, msg);
  const divisible = k % 8n === 0n;
  if (divisible ? zeroMod8 >= 1 : nonZeroMod8 >= 3) continue;
  if (divisible) zeroMod8++;
  else nonZeroMod8++;
  add(
    `mixed-order A, k ${divisible ? '≡' : '≢'} 0 mod 8: ${divisible ? 'both equations hold' : 'cofactored only'}`,
    true,
    amBytes,
    msg,
    cat(rBytes, le((r + k * a) % L)),
  );
}

// 3. Every small-order A (canonical encoding), R = the identity, S = 0: for the identity A any
//    message "verifies" under the cofactorless equation; strict verification refuses small-order keys.
const identity = ed.Point.ZERO.toBytes();
for (let i = 0; i < 8; i++) {
  add(`small-order A of order ${order(small[i])}, R = identity, S = 0`, false, small[i].toBytes(), utf8.encode(`small A ${i}`), cat(identity, le(0n)));
}
// 3b. The same keys with R = −k·A and S = 0, so the cofactorless equation holds and only the key
//     is wrong. k depends on R, so try each small-order R until one matches.
for (let i = 1; i < 8; i++) {
  const msg = utf8.encode(`small A, matching R ${i}`);
  const aI = small[i].toBytes();
  const j = small.findIndex((R) => R.equals(times(small[i], challenge(R.toBytes(), aI, msg) % 8n).negate()));
  if (j >= 0) add(`small-order A of order ${order(small[i])}, R = −k·A, S = 0: only the key is wrong`, false, aI, msg, cat(small[j].toBytes(), le(0n)));
}

// 4. Non-canonical encodings of small-order keys: y ≥ p (y = p ≡ 0, y = p + 1 ≡ 1) with either sign
//    bit, and x = 0 with the sign bit set (y = 1, y = p − 1). R = identity, S = 0, which the
//    cofactorless equation accepts for any message when A decodes to the identity.
const nonCanonical = [
  ['y = p + 1 (the identity)', encodeY(P + 1n, false)],
  ['y = p + 1, sign bit set', encodeY(P + 1n, true)],
  ['y = p (order 4)', encodeY(P, false)],
  ['y = p, sign bit set (order 4)', encodeY(P, true)],
  ['y = 1, sign bit set (−0, the identity)', encodeY(1n, true)],
  ['y = p − 1, sign bit set (−0, order 2)', encodeY(P - 1n, true)],
];
for (const [what, bytes] of nonCanonical) {
  add(`non-canonical A, ${what}, R = identity, S = 0`, false, bytes, utf8.encode(`non-canonical A ${what}`), cat(identity, le(0n)));
}

// 5. Non-canonical encodings of R with an honest key: R decodes (leniently) to a small-order T and
//    S = k·a makes R + k·A − S·B = T, so only a lenient decoder with the cofactored equation would
//    accept. Strict verification refuses the encoding.
for (const [what, bytes] of nonCanonical) {
  const msg = utf8.encode(`non-canonical R ${what}`);
  const k = challenge(bytes, aBytes, msg);
  add(`non-canonical R, ${what}, S = k·a`, false, aBytes, msg, cat(bytes, le((k * a) % L)));
}

// 6. Valid signatures by the honest key, and the ways S can be out of range.
for (let i = 0; i < 3; i++) {
  const msg = utf8.encode(`valid ${i}`);
  const sig = ed.sign(msg, le(scalar(`seed ${i}`)));
  const pub = ed.getPublicKey(le(scalar(`seed ${i}`)));
  add(`valid signature ${i}`, true, pub, msg, sig);
  const s = fromLe(sig.subarray(32));
  add(`valid signature ${i} with S + L`, false, pub, msg, cat(sig.subarray(0, 32), le(s + L)));
  if (s + 2n * L < 2n ** 256n) add(`valid signature ${i} with S + 2L`, false, pub, msg, cat(sig.subarray(0, 32), le(s + 2n * L)));
  add(`valid signature ${i}, other message`, false, pub, utf8.encode(`valid ${i}!`), sig);
}

// 7. Encodings that are no point at all: R, then A.
let offCurve;
for (let y = 2n; !offCurve; y++) {
  try {
    ed.Point.fromBytes(le(y));
  } catch {
    offCurve = le(y);
  }
}
{
  const msg = utf8.encode('R off the curve');
  add('R is not a curve point', false, aBytes, msg, cat(offCurve, le(scalar('off R s'))));
  add('A is not a curve point', false, offCurve, msg, ed.sign(msg, le(scalar('seed 0'))));
}

function times(pt, n) {
  let q = ed.Point.ZERO;
  for (let i = 0n; i < n; i++) q = q.add(pt);
  return q;
}

function order(pt) {
  let q = pt;
  for (let n = 1; n <= 8; n++, q = q.add(pt)) if (q.is0()) return n;
  throw new Error('not of small order');
}

const doc = JSON.parse(readFileSync(FILE, 'utf8'));
doc.generated = cases;
writeFileSync(FILE, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote ${cases.length} generated cases to ${FILE}`);
