;; Loops for ever on `log`, which every module may call: the inline tier's deadline checks in the
;; guest's own code come far apart on such a loop, so the host checks the deadline on entry to
;; every host function. Under a 200 ms timeout the call must end with ETIMEOUT.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "mcp0:abi/v1" "log" (func $log (param i64) (result i64)))
  (memory (export "memory") 1)
  ;; CBOR {"msg": "x"}
  (data (i32.const 0) "\a1\63msg\61x")
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func $request (result i64) (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.const 7)))
    (loop $copy
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i))) (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (i32.const 7))))
    (local.get $h))
  (func (export "chatter") (result i32) (local $h i64)
    (loop $forever
      (local.set $h (call $request))
      (call $free (call $log (local.get $h)))
      (call $free (local.get $h))
      (br $forever))
    (i32.const 0))
  (func (export "ok") (result i32) (i32.const 0)))
