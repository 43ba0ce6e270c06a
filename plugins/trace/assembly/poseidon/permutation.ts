/**
 * The Poseidon permutation over BN254 Fr with circomlib's parameters (x^5 S-box, 8 full rounds,
 * circomlib's partial-round counts), run in the optimised schedule of circomlibjs's
 * `buildPoseidonOpt` (after Neptune): the partial rounds use sparse matrices, so each costs
 * 3 + (2t − 1) multiplications instead of 3 + t². Every matrix row is one fused dot product
 * (one Montgomery reduction per output). The result equals circomlibjs's `buildPoseidon`.
 */
import { N_ROUNDS_F, nRoundsP, tableC, tableS, tableM, tableP } from "../generated/poseidon-constants";
import { add, mul, mulAdd, sqr, dot2, dot3, dot4, dot5, copy, zero, canonical } from "../field/arith";
import { FR_BYTES } from "../generated/params";

/** The largest state (4 inputs). */
export const MAX_T: i32 = 5;

const MIX: usize = memory.data(FR_BYTES * 5);
const TMP: usize = memory.data(FR_BYTES);
const ACC: usize = memory.data(FR_BYTES);
const STATE: usize = memory.data(FR_BYTES * 5);

// @ts-ignore: decorator
@inline function el(base: usize, i: i32): usize {
  return base + <usize>i * FR_BYTES;
}

/** r = Σ_{j<t} a[j]·b[j]. */
// @ts-ignore: decorator
@inline function dot(t: i32, r: usize, a: usize, b: usize): void {
  if (t == 3) dot3(r, a, b);
  else if (t == 2) dot2(r, a, b);
  else if (t == 4) dot4(r, a, b);
  else dot5(r, a, b);
}

/** x = x^5. */
// @ts-ignore: decorator
@inline function sbox(x: usize): void {
  sqr(TMP, x);
  sqr(TMP, TMP);
  mul(x, TMP, x);
}

/** x = x^5 + c. */
// @ts-ignore: decorator
@inline function sboxPlus(x: usize, c: usize): void {
  sqr(TMP, x);
  sqr(TMP, TMP);
  mulAdd(x, TMP, x, c);
}

/** state[i] = state[i]^5 + c[i] for every i. */
// @ts-ignore: decorator
@inline function sboxAdd(t: i32, state: usize, c: usize): void {
  for (let i = 0; i < t; i++) {
    sboxPlus(el(state, i), el(c, i));
  }
}

/** state = m·state for a t×t matrix stored row per output; only the first `outs` outputs. */
function mix(t: i32, state: usize, m: usize, outs: i32): void {
  const row = <usize>t * FR_BYTES;
  for (let i = 0; i < outs; i++) dot(t, el(MIX, i), m + <usize>i * row, state);
  memory.copy(state, MIX, <usize>outs * FR_BYTES);
}

/**
 * Permute the t-element state (Montgomery form) in place; state[0] is then the hash. Only
 * state[0] is complete afterwards (the last mix computes only the first output). t must be 2..5.
 */
export function permute(t: i32, state: usize): void {
  const C = tableC(t);
  const S = tableS(t);
  const M = tableM(t);
  const P = tableP(t);
  const nP = nRoundsP(t);
  const half = N_ROUNDS_F / 2;

  for (let i = 0; i < t; i++) add(el(state, i), el(state, i), el(C, i));
  for (let r = 0; r < half - 1; r++) {
    sboxAdd(t, state, el(C, (r + 1) * t));
    mix(t, state, M, t);
  }
  sboxAdd(t, state, el(C, half * t));
  mix(t, state, P, t);

  const cp = el(C, (half + 1) * t);
  const w = 2 * t - 1;
  for (let r = 0; r < nP; r++) {
    const s0 = state;
    sboxPlus(s0, el(cp, r));
    const sr = el(S, r * w);
    // new s0 = Σ_j S[j]·state[j]; then state[k] += s0·S[t + k − 1]
    dot(t, ACC, sr, state);
    for (let k = 1; k < t; k++) mulAdd(el(state, k), s0, el(sr, t + k - 1), el(state, k));
    copy(s0, ACC);
  }

  const cl = el(C, (half + 1) * t + nP);
  for (let r = 0; r < half - 1; r++) {
    sboxAdd(t, state, el(cl, r * t));
    mix(t, state, M, t);
  }
  for (let i = 0; i < t; i++) sbox(el(state, i));
  mix(t, state, M, 1);
}

/**
 * out = Poseidon(inputs) for n = 1..4 inputs, each a Montgomery-form element at
 * inputs + FR_BYTES·i; the initial state element is 0, as circomlibjs's default. out may alias an
 * input and is canonical (< p).
 */
export function poseidon(out: usize, inputs: usize, n: i32): void {
  zero(STATE);
  memory.copy(STATE + FR_BYTES, inputs, <usize>n * FR_BYTES);
  permute(n + 1, STATE);
  canonical(out, STATE);
}
