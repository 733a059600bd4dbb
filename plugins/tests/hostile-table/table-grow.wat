;; A step plugin (core module; the tests wrap it into a component with
;; wit-component against wit/) whose `run` grows its table forever: a table bomb
;; at call time. The host's table cap must stop it.
(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get 3)))
    (local.get $p))
  (func (export "weft:plugin/step@0.1.0#run")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (loop $grow
      (drop (table.grow $t (ref.null func) (i32.const 100000)))
      (br $grow))
    (i32.const 0))
)
