;; A start function that never returns: the load must fail with ETIMEOUT on the call timeout.
(module
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func $spin (loop $l (br $l)))
  (start $spin))
