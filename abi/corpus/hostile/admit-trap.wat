;; An admit hook that traps: a failing hook must be a denial (fail closed), never an error that
;; skips the hooks that had admitted the operation.
(module
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "mcp0_admit") (result i32) unreachable))
