//! Plugins built into the `weft` binary (built from `plugins/` by `build.rs`).

/// The `mock-model` adapter: deterministic, offline; serves model calls of
/// `weft plugin run` unless `--model` names another adapter.
pub const MOCK_MODEL: &[u8] = include_bytes!(env!("WEFT_EMBEDDED_MOCK_MODEL"));
