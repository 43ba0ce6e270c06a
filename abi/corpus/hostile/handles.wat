;; 20,000 clock_now calls in one guest call, 40,000 blocks (a request and a response each), past
;; the 32,767 of Extism's block table. `tick` frees every request and response, as the guest
;; library does, and must succeed: Extism 1.0.3's block table overflowed after about 16,000 host
;; calls. 20,000, not more: a worker-tier host call is a thread round trip (~0.1 ms), and the
;; call must end well within its timeout on a loaded machine. `hoard` keeps them all and must fail typed (ETOOBIG), leaving the instance healthy.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "mcp0:abi/v1" "clock_now" (func $clock_now (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  ;; A request {} (one byte 0xa0); a response {"ok": ...} has "ok"'s text head 0x62 at offset 1.
  (func $request (result i64) (local $h i64)
    (local.set $h (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $h) (i32.const 0xa0))
    (local.get $h))
  (func $loop (param $free i32) (local $i i32) (local $h i64) (local $r i64)
    (loop $more
      (local.set $h (call $request))
      (local.set $r (call $clock_now (local.get $h)))
      (if (i32.ne (call $load_u8 (i64.add (local.get $r) (i64.const 1))) (i32.const 0x62)) (then unreachable))
      (if (local.get $free) (then (call $free (local.get $h)) (call $free (local.get $r))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 20000)))))
  (func (export "tick") (result i32) (call $loop (i32.const 1)) (i32.const 0))
  (func (export "hoard") (result i32) (call $loop (i32.const 0)) (i32.const 0)))
