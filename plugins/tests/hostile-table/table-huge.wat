;; A step plugin whose core module declares a table of 100 million elements: a
;; table bomb at instantiation. Loading it must fail with a clear error.
(module
  (memory (export "memory") 1)
  (table $t 100000000 funcref)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (i32.const 1024))
  (func (export "weft:plugin/step@0.1.0#run")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 0))
)
