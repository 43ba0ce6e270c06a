;; Its start function asks the host clock through a real clock_now call and traps when the answer
;; is long (any real time): on the first instantiation, or, where a test moves the clock, on a
;; restart after a trap. A restart that fails must back off and retry, never end the host.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "mcp0:abi/v1" "clock_now" (func $clock_now (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func $start (local $req i64)
    (local.set $req (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $req) (i32.const 0xa0))
    (if (i64.gt_u (call $length (call $clock_now (local.get $req))) (i64.const 8)) (then unreachable)))
  (start $start)
  (func (export "ok") (result i32) (i32.const 0))
  (func (export "trap") (result i32) unreachable))
