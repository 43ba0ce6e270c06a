/**
 * mcp0.trace: Poseidon over BN254, bit-for-bit equal to circomlibjs, for 1 to 4 inputs, and the
 * trace hash chain over every operation (the observe hook, head, get, range, verifyRange; see
 * trace.ts). Field elements travel as decimal strings.
 */
import { Value, decode, fail, readInput, respond } from "@mcp0/abi/as";
import { fromDecimal, toDecimal, fromBytesBE, toBytesBE } from "./field/convert";
import { mul, mul2, sqr } from "./field/arith";
import { FR_BYTES } from "./generated/params";
import { poseidon as hash } from "./poseidon/permutation";

export { mcp0_abi_v1 } from "@mcp0/abi/as";
export { mcp0_observe, head, get, range, verifyRange } from "./trace";

export function mcp0_init(): i32 {
  return 0;
}

export function mcp0_stop(): i32 {
  return 0;
}

const INPUTS: usize = memory.data(FR_BYTES * 4);
const OUT: usize = memory.data(FR_BYTES);

/** Hash one CBOR array of 1..4 field elements; returns null and sets `lastError` on bad input. */
let lastError = "";
function hashItem(v: Value, where: string): string | null {
  const arr = v.asArray();
  if (arr === null) {
    lastError = where + ": expected an array of 1 to 4 decimal strings, got " + v.typeName;
    return null;
  }
  const n = arr.length;
  if (n < 1 || n > 4) {
    lastError = where + ": expected 1 to 4 inputs, got " + n.toString();
    return null;
  }
  for (let i = 0; i < n; i++) {
    const item = unchecked(arr.items[i]);
    const s = item.asText();
    if (s === null) {
      lastError = where + "[" + i.toString() + "]: expected a decimal string, got " + item.typeName;
      return null;
    }
    if (!fromDecimal(INPUTS + <usize>i * FR_BYTES, s)) {
      lastError = where + "[" + i.toString() + "]: not a decimal string of digits 0-9";
      return null;
    }
  }
  hash(OUT, INPUTS, n);
  return toDecimal(OUT);
}

/** [x1, ..., xn] (1 ≤ n ≤ 4, decimal strings) → decimal string Poseidon(x1, ..., xn). */
export function poseidon(): i32 {
  const d = decode(readInput());
  if (!d.ok) return fail("EINPUT", d.error!.message);
  const r = hashItem(d.value, "input");
  if (r === null) return fail("EINPUT", lastError);
  return respond(Value.text(r));
}

/** [[x...], [x...], ...] → [hash, hash, ...]: many hashes per call. */
export function poseidon_batch(): i32 {
  const d = decode(readInput());
  if (!d.ok) return fail("EINPUT", d.error!.message);
  const arr = d.value.asArray();
  if (arr === null) return fail("EINPUT", "input: expected an array of arrays, got " + d.value.typeName);
  const out = Value.array();
  const n = arr.length;
  for (let i = 0; i < n; i++) {
    const r = hashItem(unchecked(arr.items[i]), "input[" + i.toString() + "]");
    if (r === null) return fail("EINPUT", lastError);
    out.push(Value.text(r));
  }
  return respond(out);
}

// ---- raw exports for bare-WASM benchmarks and tests (not ABI exports; not in the manifest) ----

/** A scratch area for raw callers: 32·8 bytes at the returned pointer. */
const SCRATCH: usize = memory.data(32 * 8);
export function raw_scratch(): usize {
  return SCRATCH;
}

/** Inputs: n 32-byte big-endian integers at inp; out: 32-byte big-endian hash. */
export function poseidon_raw(inp: usize, n: i32, out: usize): void {
  for (let i = 0; i < n; i++) fromBytesBE(INPUTS + <usize>i * FR_BYTES, inp + (<usize>i << 5));
  hash(OUT, INPUTS, n);
  toBytesBE(out, OUT);
}

/** count hashes of n inputs each: 32-byte big-endian inputs at inp (n·count of them), outputs at out. */
export function poseidon_raw_batch(inp: usize, n: i32, count: i32, out: usize): void {
  const stride = <usize>n << 5;
  for (let k = 0; k < count; k++) poseidon_raw(inp + <usize>k * stride, n, out + (<usize>k << 5));
}

/** A block of `bytes` bytes of linear memory for raw callers (never freed; bare benchmarks only). */
export function raw_alloc(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

/** Hash `count` times the same Montgomery-form inputs already at INPUTS (the pure permutation cost). */
export function poseidon_loop(inp: usize, n: i32, count: i32): void {
  for (let i = 0; i < n; i++) fromBytesBE(INPUTS + <usize>i * FR_BYTES, inp + (<usize>i << 5));
  for (let k = 0; k < count; k++) hash(INPUTS, INPUTS, n);
}

const MA: usize = memory.data(FR_BYTES);
const MB: usize = memory.data(FR_BYTES);

/** count field multiplications x = x·y in a loop, x and y read from 32-byte big-endian a and b (timing one multiplication); x is written back to a. */
export function mul_loop(a: usize, b: usize, count: i32): void {
  fromBytesBE(MA, a);
  fromBytesBE(MB, b);
  for (let k = 0; k < count; k++) mul(MA, MA, MB);
  toBytesBE(a, MA);
}

/** As mul_loop with the product-then-reduce multiplication (kind 1) or squaring x = x² (kind 2). */
export function mul_loop_kind(a: usize, b: usize, count: i32, kind: i32): void {
  fromBytesBE(MA, a);
  fromBytesBE(MB, b);
  if (kind == 1) for (let k = 0; k < count; k++) mul2(MA, MA, MB);
  else if (kind == 2) for (let k = 0; k < count; k++) sqr(MA, MA);
  else for (let k = 0; k < count; k++) mul(MA, MA, MB);
  toBytesBE(a, MA);
}
