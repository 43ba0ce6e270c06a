;; The same host function imported twice with the right type: refused, so no import can stand for
;; another under a second name.
(module
  (import "mcp0:abi/v1" "log" (func (param i64) (result i64)))
  (import "mcp0:abi/v1" "log" (func (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0)))
