;; An admit hook whose verdict is not CBOR (one 0xff byte): no valid verdict is a denial.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "mcp0_admit") (result i32) (local $h i64)
    (local.set $h (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $h) (i32.const 0xff))
    (call $output_set (local.get $h) (i64.const 1))
    (i32.const 0)))
