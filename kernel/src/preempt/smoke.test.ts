import { createRequire } from "node:module"; const require = createRequire(import.meta.url);
import { it, expect } from 'vitest';
import binaryen from 'binaryen';
import { instrumentDeadline } from './instrument.js';

it('smoke', async () => {
  const m = binaryen.parseText(`(module
    (import "env" "x" (func $x (param i32) (result i32)))
    (func $spin (export "spin") (loop $l (br $l)))
    (func $sum (export "sum") (param $n i32) (result i32) (local $s i32)
      (loop $l (local.set $s (i32.add (local.get $s) (local.get $n))) (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
      (call $x (local.get $s))))`);
  const bin = m.emitBinary();
  const out = instrumentDeadline(bin, { slice: 1000 });
  require("fs").writeFileSync("/tmp/pre/out.wasm", out); require("fs").writeFileSync("/tmp/pre/in.wasm", bin);
  try { new WebAssembly.Module(out) } catch (e) { console.log(String(e)) }
  let calls = 0;
  const { instance } = await WebAssembly.instantiate(out, { env: { x: (v: number) => v + 1 }, 'mcp0:kernel': { deadline: () => { if (++calls >= 3) throw new Error('deadline'); return 1000; } } });
  expect(() => (instance.exports.spin as () => void)()).toThrow('deadline');
  calls = -1e9;
  expect((instance.exports.sum as (n: number) => number)(100)).toBe(5051);
  console.log(calls + 1e9, (instance.exports.__mcp0_slice as WebAssembly.Global).value);
});
