//! The Rust reference plugins, built into the `weft` binary (by `build.rs`).

macro_rules! embed {
    ($name:literal) => {
        include_bytes!(concat!(env!("WEFT_EMBEDDED_PLUGINS"), "/", $name, ".wasm"))
    };
}

/// The `mock-model` adapter: deterministic, offline; serves model calls of
/// `weft plugin run` unless `--model` names another adapter.
pub const MOCK_MODEL: &[u8] = embed!("mock-model");

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
