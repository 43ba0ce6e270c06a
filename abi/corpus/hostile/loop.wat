;; The plainest attack: a loop that never ends.
(module
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))
  (func (export "ok") (result i32) (i32.const 0)))
