;; Imports Extism's alloc a second time typed (f64) -> i64: called with NaN, it once made the
;; host-memory budget NaN and every later check false. Refused at load by the import type check.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $nan (param f64) (result i64)))
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "go") (result i32) (drop (call $nan (f64.const nan))) (i32.const 0)))
