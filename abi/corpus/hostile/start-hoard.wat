;; Its start function allocates 100 MiB of host memory before any call: the host-memory budget
;; counts from before instantiation, so the load fails instead of the host holding it.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func $hoard (local $i i32)
    (loop $more
      (drop (call $alloc (i64.const 1048576)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 100)))))
  (start $hoard))
