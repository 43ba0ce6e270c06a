;; Asks random_bytes for 64 KiB 2,000 times in one call, freeing every request and response: the
;; guest keeps nothing, but the host made 128 MiB of responses for it (over any sane budget). Responses count toward the
;; call's host-memory budget.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "mcp0:abi/v1" "random_bytes" (func $random_bytes (param i64) (result i64)))
  (memory (export "memory") 1)
  ;; CBOR {"n": 65536}
  (data (i32.const 0) "\a1\61n\1a\00\01\00\00")
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func $request (result i64) (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.const 8)))
    (loop $copy
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i))) (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (i32.const 8))))
    (local.get $h))
  (func (export "flood") (result i32) (local $i i32) (local $h i64)
    (loop $more
      (local.set $h (call $request))
      (call $free (call $random_bytes (local.get $h)))
      (call $free (local.get $h))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 2000))))
    (i32.const 0))
  (func (export "ok") (result i32) (i32.const 0)))
