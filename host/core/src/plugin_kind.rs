//! The four kinds of plugin, one per WIT world.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which weft world a plugin targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// `step-plugin`: a flow step.
    Step,
    /// `model-plugin`: an adapter to an LLM provider.
    Model,
    /// `retry-plugin`: a retry strategy.
    Retry,
    /// `pool-plugin`: a pool admission policy.
    Pool,
}

impl PluginKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [PluginKind; 4] = [Self::Step, Self::Model, Self::Retry, Self::Pool];

    /// The WIT world name, e.g. `step-plugin`.
    pub fn world(self) -> &'static str {
        match self {
            Self::Step => "step-plugin",
            Self::Model => "model-plugin",
            Self::Retry => "retry-plugin",
            Self::Pool => "pool-plugin",
        }
    }

    /// The interface the world exports, without package or version, e.g. `step`.
    pub fn export_interface(self) -> &'static str {
        match self {
            Self::Step => "step",
            Self::Model => "model-adapter",
            Self::Retry => "retry-strategy",
            Self::Pool => "pool-policy",
        }
    }

    /// The fully qualified export name, e.g. `weft:plugin/step@0.1.0`.
    pub fn export_name(self) -> String {
        format!(
            "weft:plugin/{}@{}",
            self.export_interface(),
            crate::WIT_PACKAGE_VERSION
        )
    }

    /// The short name used in config files and on the command line: `step`,
    /// `model`, `retry` or `pool`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Step => "step",
            Self::Model => "model",
            Self::Retry => "retry",
            Self::Pool => "pool",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin kind name that is none of `step`, `model`, `retry`, `pool`.
#[derive(Debug, thiserror::Error)]
#[error("unknown plugin kind `{0}`: expected one of step, model, retry, pool")]
pub struct UnknownPluginKind(pub String);

impl FromStr for PluginKind {
    type Err = UnknownPluginKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.world() == s)
            .ok_or_else(|| UnknownPluginKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_and_world_names() {
        for kind in PluginKind::ALL {
            assert_eq!(kind.as_str().parse::<PluginKind>().ok(), Some(kind));
            assert_eq!(kind.world().parse::<PluginKind>().ok(), Some(kind));
        }
        assert!("steps".parse::<PluginKind>().is_err());
    }

    #[test]
    fn export_names_carry_the_package_version() {
        assert_eq!(
            PluginKind::Retry.export_name(),
            "weft:plugin/retry-strategy@0.1.0"
        );
    }
}
