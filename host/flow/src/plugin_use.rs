//! Places where a flow or `weft.yaml` names a plugin, checked (in `refs`)
//! against the kinds `weft.yaml` declares, and handed to the caller so it can
//! load each component and report a component of the wrong kind at the line
//! that named it.

use std::fmt;
use std::path::PathBuf;

use weft_core::PluginKind;

use crate::diagnostic::Location;

/// Why a plugin was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginRole {
    /// A step's `uses:`.
    Step,
    /// A `retry:` block's `strategy:`; `defaulted` when no strategy was written
    /// (a `retry:` block without `strategy:`, or a step for which nothing names
    /// a retry policy) and `exp-backoff` was assumed.
    RetryStrategy {
        /// The strategy was not written; the default was assumed.
        defaulted: bool,
    },
    /// A `pool:`.
    Pool,
    /// A model's `adapter:` in `weft.yaml`.
    ModelAdapter,
}

impl PluginRole {
    /// The kind of plugin this role needs.
    pub fn expected_kind(self) -> PluginKind {
        match self {
            Self::Step => PluginKind::Step,
            Self::RetryStrategy { .. } => PluginKind::Retry,
            Self::Pool => PluginKind::Pool,
            Self::ModelAdapter => PluginKind::Model,
        }
    }
}

impl fmt::Display for PluginRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Step => "`uses`",
            Self::RetryStrategy { .. } => "a retry strategy",
            Self::Pool => "`pool`",
            Self::ModelAdapter => "a model `adapter`",
        })
    }
}

/// One place a plugin is named, with what `weft.yaml` says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginUse {
    /// The plugin's name.
    pub plugin: String,
    /// Its `.wasm` file, resolved.
    pub path: PathBuf,
    /// The kind `weft.yaml` declares.
    pub declared: PluginKind,
    /// Why it was named here.
    pub role: PluginRole,
    /// Where it was named.
    pub location: Location,
}

impl PluginUse {
    /// The kind the component at `path` must be.
    pub fn expected_kind(&self) -> PluginKind {
        self.role.expected_kind()
    }
}
