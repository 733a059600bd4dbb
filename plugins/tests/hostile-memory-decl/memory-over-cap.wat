;; A step plugin whose core module declares a memory of at least 3,200 pages
;; (200 MiB): within the runtime's largest memory, over the memory cap a call
;; gets by default (128 MiB). Loading it must fail with an error that names
;; the declared size, the cap and where the cap is set.
(module
  (memory (export "memory") 3200)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (i32.const 1024))
  (func (export "weft:plugin/step@0.1.0#run")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 0))
)
