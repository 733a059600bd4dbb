//! The store contract's conformance suite (`weft-store-conformance`) on
//! PostgreSQL: one test per case, each on fresh schemas of one throwaway
//! server (`weft-pg-harness`).

mod support;

weft_store_conformance::conformance_tests!(support::backend);
