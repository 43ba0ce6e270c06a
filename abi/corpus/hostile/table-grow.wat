;; Grows its table by a million entries, then a hundred: a capped table answers -1 to the first
;; (anything else traps) and grows by the second.
(module
  (table $t 10 funcref)
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "grow") (result i32)
    (if (i32.ne (table.grow $t (ref.null func) (i32.const 1000000)) (i32.const -1)) (then unreachable))
    (if (i32.ne (table.grow $t (ref.null func) (i32.const 100)) (i32.const 10)) (then unreachable))
    (i32.const 0)))
