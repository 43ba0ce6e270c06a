/**
 * The field's operations in one place: the generated kernels (../generated/: mont.ts: mul,
 * mulAdd; reduce.ts: add, sub, canonical; fused.ts) and small helpers built on them. Elements are
 * pointers to FR_BYTES bytes (see ../generated/params.ts), in Montgomery form in [0, 2p); r may
 * alias the inputs.
 */
import { FR_BYTES, ONE_MONT, ONE_PLAIN, R2_MONT } from "../generated/params";
import { mul, mulAdd } from "../generated/mont";
import { add, sub, canonical } from "../generated/reduce";
import { sqr, dot2, dot3, dot4, dot5, mul2 } from "../generated/fused";

export { mul, mulAdd, add, sub, canonical, sqr, dot2, dot3, dot4, dot5, mul2 };

/** r = a². */
// @ts-ignore: decorator
@inline export function square(r: usize, a: usize): void {
  sqr(r, a);
}

/** r = a^5, the Poseidon S-box; tmp is scratch. */
// @ts-ignore: decorator
@inline export function pow5(r: usize, a: usize, tmp: usize): void {
  sqr(tmp, a);
  sqr(tmp, tmp);
  mul(r, tmp, a);
}

/** r = a. */
// @ts-ignore: decorator
@inline export function copy(r: usize, a: usize): void {
  store<u64>(r, load<u64>(a, 0), 0);
  store<u64>(r, load<u64>(a, 8), 8);
  store<u64>(r, load<u64>(a, 16), 16);
  store<u64>(r, load<u64>(a, 24), 24);
  store<u32>(r, load<u32>(a, 32), 32);
}

/** r = 0. */
// @ts-ignore: decorator
@inline export function zero(r: usize): void {
  memory.fill(r, 0, FR_BYTES);
}

/** r = 1 (Montgomery form). */
// @ts-ignore: decorator
@inline export function one(r: usize): void {
  memory.copy(r, ONE_MONT, FR_BYTES);
}

/** r = the Montgomery form of the plain value a (limbs < 2^29, any a < 2^261: reduced). */
// @ts-ignore: decorator
@inline export function toMont(r: usize, a: usize): void {
  mul(r, a, R2_MONT);
}

/** r = the canonical plain value (< p) of a. */
export function fromMont(r: usize, a: usize): void {
  mul(r, a, ONE_PLAIN);
  canonical(r, r);
}

/** True when a and b are the same field element. */
export function equal(a: usize, b: usize, tmp1: usize, tmp2: usize): bool {
  canonical(tmp1, a);
  canonical(tmp2, b);
  return memory.compare(tmp1, tmp2, FR_BYTES) == 0;
}
