;; Two funcref tables of 10 million entries each: over 300 MB on the engine's heap at
;; instantiation, and a few more would abort the host process. Refused at load by the table cap.
(module
  (table $a 10000000 funcref)
  (table $b 10000000 funcref)
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0)))
