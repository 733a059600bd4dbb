;; A plain core module that exports a `run` function: valid WebAssembly, but not
;; a component, so no weft world can accept it.
(module
  (func (export "run") (param i32) (result i32) (local.get 0)))
