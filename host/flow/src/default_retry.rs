//! The retry policy of a step that names none: neither the step, the flow's
//! `defaults` nor `weft.yaml`'s `defaults` has a `retry:` block. Such a step is
//! retried by the plugin `exp-backoff` with its `weft.yaml` `config`, when
//! `weft.yaml` declares it as a retry plugin; otherwise a failed attempt fails
//! the run, and [`NoDefaultRetry`] says why.

use serde_json::{Map, Value as Json};
use weft_core::PluginKind;

use crate::common::{DEFAULT_RETRY_STRATEGY, RetryPolicy};
use crate::project::ProjectConfig;

/// Why a step that names no retry policy has none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoDefaultRetry {
    /// `weft.yaml` declares no plugin `exp-backoff`.
    #[error(
        "the default `{DEFAULT_RETRY_STRATEGY}` is not a plugin in {file} \
         (declare it under `plugins:` with `kind: retry`, or give the step a `retry:` block)"
    )]
    Undeclared {
        /// The `weft.yaml` file.
        file: String,
    },
    /// `weft.yaml` declares `exp-backoff`, but not as a retry plugin.
    #[error(
        "the default `{DEFAULT_RETRY_STRATEGY}` is a {kind} plugin in {file}, not a retry plugin \
         (give the step a `retry:` block naming a retry plugin)"
    )]
    WrongKind {
        /// The `weft.yaml` file.
        file: String,
        /// The kind it declares.
        kind: PluginKind,
    },
}

impl ProjectConfig {
    /// The policy of a step for which nothing names one: `exp-backoff` with no
    /// overrides (its `config:` from `weft.yaml` applies), or why there is none.
    pub fn default_retry(&self) -> Result<RetryPolicy, NoDefaultRetry> {
        match self.plugin(DEFAULT_RETRY_STRATEGY) {
            None => Err(NoDefaultRetry::Undeclared {
                file: self.file.clone(),
            }),
            Some(p) if p.kind != PluginKind::Retry => Err(NoDefaultRetry::WrongKind {
                file: self.file.clone(),
                kind: p.kind,
            }),
            Some(_) => Ok(RetryPolicy {
                strategy: DEFAULT_RETRY_STRATEGY.to_owned(),
                config: Json::Object(Map::new()),
            }),
        }
    }
}
