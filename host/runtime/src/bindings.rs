//! The project's only `bindgen!`: host-side bindings for `wit/`, generated from the
//! `host-bindings` world (the union of the four plugin worlds).
//!
//! Everything generated stays private to the runtime; the rest of weft speaks the
//! plain types of `weft_core`, converted in [`crate::convert`].

wasmtime::component::bindgen!({
    world: "host-bindings",
    path: "../../wit",
    imports: { default: async },
    exports: { default: async },
    with: {
        "wasi": wasmtime_wasi::p2::bindings,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

pub(crate) use exports::weft::plugin::{model_adapter, pool_policy, retry_strategy, step};
pub(crate) use weft::plugin::{host, logging, types};
