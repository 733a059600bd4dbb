//! The Rust reference plugins, built into the `weft` binary (by `build.rs`).

macro_rules! embed {
    ($name:literal) => {
        include_bytes!(concat!(env!("WEFT_EMBEDDED_PLUGINS"), "/", $name, ".wasm"))
    };
}

/// The `mock-model` adapter: deterministic, offline; serves model calls of
/// `weft plugin run` unless `--model` names another adapter.
pub const MOCK_MODEL: &[u8] = embed!("mock-model");

/// The WASI preview-1 reactor adapter (of the wasmtime version weft runs on):
/// `weft plugin build` gives it to `wasm-tools component new` for C plugins.
pub const WASI_REACTOR_ADAPTER: &[u8] =
    wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;

/// Every embedded plugin: name, kind and bytes. `weft init` writes them into a
/// starter project.
pub const REFERENCE_PLUGINS: [(&str, weft_core::PluginKind, &[u8]); 7] = {
    use weft_core::PluginKind::{Model, Pool, Retry, Step};
    [
        ("echo", Step, embed!("echo")),
        ("json-transform", Step, embed!("json-transform")),
        ("prompt", Step, embed!("prompt")),
        ("mock-model", Model, MOCK_MODEL),
        ("exp-backoff", Retry, embed!("exp-backoff")),
        ("priority-fifo", Pool, embed!("priority-fifo")),
        ("fair-share", Pool, embed!("fair-share")),
    ]
};
