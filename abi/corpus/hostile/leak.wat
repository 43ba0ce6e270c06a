;; Allocates 7 MiB of host memory in every call and never frees it: nothing a call allocated may
;; outlive it, or 20 calls would hold 140 MiB.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "leak") (result i32) (drop (call $alloc (i64.const 7340032))) (i32.const 0)))
