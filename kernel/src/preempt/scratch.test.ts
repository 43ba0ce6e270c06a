import binaryen from 'binaryen';
import { it } from 'vitest';
const body = (check: string) => `
  (func $sum (export "sum") (param $n i32) (result i64) (local $s i64) (local $c i32)
    (local.set $c (global.get $g))
    (block $done (loop $next
      ${check}
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (global.set $g (local.get $c))
    (local.get $s))`;
const variants: Record<string, string> = {
  plain: '',
  global: `(global.set $g (i32.sub (global.get $g) (i32.const 11))) (if (i32.le_s (global.get $g) (i32.const 0)) (then (global.set $g (call $d))))`,
  local: `(local.set $c (i32.sub (local.get $c) (i32.const 11))) (if (i32.le_s (local.get $c) (i32.const 0)) (then (local.set $c (call $d))))`,
  localeqz: `(local.set $c (i32.sub (local.get $c) (i32.const 1))) (if (i32.eqz (local.get $c)) (then (local.set $c (call $d))))`,
};
it('scratch', async () => {
  const ex: Record<string, (n: number) => bigint> = {};
  for (const [k, v] of Object.entries(variants)) {
    const m = binaryen.parseText(`(module (import "k" "d" (func $d (result i32))) (global $g (mut i32) (i32.const 1000000)) ${body(v)})`);
    const { instance } = await WebAssembly.instantiate(m.emitBinary(), { k: { d: () => 1000000 } });
    ex[k] = instance.exports.sum as (n: number) => bigint;
  }
  const best: Record<string, number> = {};
  for (let r = 0; r < 5; r++) for (const [k, f] of Object.entries(ex)) { const t = performance.now(); f(1e8); best[k] = Math.min(best[k] ?? 1e9, performance.now() - t); }
  console.log(best);
});
