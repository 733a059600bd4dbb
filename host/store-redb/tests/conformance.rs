//! The store contract's conformance suite (`weft-store-conformance`) on redb:
//! one test per case, each on fresh stores in temporary folders.

use weft_store_conformance::RedbBackend;

async fn backend() -> RedbBackend {
    RedbBackend::new()
}

weft_store_conformance::conformance_tests!(backend);
