;; A step plugin whose core module declares a memory of at least 20,000 pages
;; (1.25 GiB), over the runtime's largest memory: a memory bomb at
;; instantiation. Loading it must fail with an error that names the declared
;; size, the limit and where the limit is set.
(module
  (memory (export "memory") 20000)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (i32.const 1024))
  (func (export "weft:plugin/step@0.1.0#run")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 0))
)
