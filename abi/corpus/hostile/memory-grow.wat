;; Grows its memory a page at a time until memory.grow refuses, then traps as an allocator does:
;; the cap holds, the call fails typed, the module serves again.
(module
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "grow") (result i32)
    (loop $more (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)
  (func (export "ok") (result i32) (i32.const 0)))
