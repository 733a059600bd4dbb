//! Domain types shared by every weft crate.
//!
//! This crate knows nothing of wasmtime or redb: it holds the plain Rust shape of
//! what crosses the plugin boundary (see `wit/` for the contract itself), so that
//! the engine, the store and the CLI can speak about plugin calls without linking
//! the runtime.

pub mod duration;
mod host_rule;
mod money;
mod plugin_kind;
mod plugin_types;
mod swap_target;
mod text_cap;
pub mod worker_protocol;

pub use host_rule::{HostRule, HostRuleError, Target, check_target};
pub use money::{Money, MoneyError, as_usd as money_as_usd, as_usd_opt as money_as_usd_opt};
pub use plugin_kind::{PluginKind, UnknownPluginKind};
pub use plugin_types::{
    AttemptInfo, Candidate, ChatMessage, Completion, CompletionRequest, LogLevel, PluginError,
    PoolState, RetryDecision, RunInfo, TenantLoad, Usage,
};
pub use swap_target::SwapTarget;
pub use text_cap::cap_text;

/// The version of the WIT package `weft:plugin` this host implements.
pub const WIT_PACKAGE_VERSION: &str = "0.1.0";

/// The compatibility line of a contract version, as semver reads it: the
/// major version, or `0.MINOR` while the major is 0 (so 0.1.x and 0.2.x are
/// different lines, like 1.x and 2.x). `None` for text that is not a version.
pub fn contract_line(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse::<u64>().ok()?;
    let minor = parts.next()?.parse::<u64>().ok()?;
    let patch = parts.next()?;
    let patch = patch.split(['-', '+']).next()?;
    patch.parse::<u64>().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(if major == 0 { (0, minor) } else { (major, 0) })
}

/// Whether a component built against contract `version` is of the line this
/// host implements ([`WIT_PACKAGE_VERSION`]).
pub fn contract_compatible(version: &str) -> bool {
    contract_line(version).is_some() && contract_line(version) == contract_line(WIT_PACKAGE_VERSION)
}

#[cfg(test)]
mod contract_tests {
    use super::*;

    #[test]
    fn lines_follow_semver() {
        assert_eq!(contract_line("0.1.0"), contract_line("0.1.7"));
        assert_ne!(contract_line("0.1.0"), contract_line("0.2.0"));
        assert_eq!(contract_line("1.0.0"), contract_line("1.4.2"));
        assert_ne!(contract_line("1.0.0"), contract_line("2.0.0"));
        assert_eq!(contract_line("x.1"), None);
        assert!(contract_compatible("0.1.3"));
        assert!(!contract_compatible("1.0.0"));
    }
}
