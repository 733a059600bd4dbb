//! Domain types shared by every weft crate.
//!
//! This crate knows nothing of wasmtime or redb: it holds the plain Rust shape of
//! what crosses the plugin boundary (see `wit/` for the contract itself), so that
//! the engine, the store and the CLI can speak about plugin calls without linking
//! the runtime.

mod host_rule;
mod plugin_kind;
mod plugin_types;
mod text_cap;
pub mod worker_protocol;

pub use host_rule::{HostRule, HostRuleError, Target, check_target};
pub use plugin_kind::{PluginKind, UnknownPluginKind};
pub use plugin_types::{
    AttemptInfo, Candidate, ChatMessage, Completion, CompletionRequest, LogLevel, PluginError,
    PoolState, RetryDecision, RunInfo, TenantLoad, Usage,
};
pub use text_cap::cap_text;

/// The version of the WIT package `weft:plugin` this host implements.
pub const WIT_PACKAGE_VERSION: &str = "0.1.0";
