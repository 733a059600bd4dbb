//! What a model's adapter may reach: its `allowed_hosts` (narrowed to a
//! tenant's hosts when given), its API key read from the environment at call
//! time, its timeouts. And the count of model requests by outcome.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use weft_core::PluginError;
use weft_flow::ModelDecl;
use weft_runtime::{HostRule, HttpPolicy, HttpTimeouts};

/// The HTTP policy of one call of `model`. With `tenant_hosts` (the hook for a
/// tenant's capabilities), only the model's rules within one of the tenant's
/// stay ([`HostRule::within`]: `api.openai.com` is within `*.openai.com`);
/// tenant entries that are not rules are ignored.
/// An `api_key_env` whose variable is unset (or empty) is a permanent error
/// naming it: the key is read at each call, not when `weft.yaml` loads.
pub fn model_http_policy(
    model: &ModelDecl,
    tenant_hosts: Option<&[String]>,
) -> Result<HttpPolicy, PluginError> {
    let mut rules: Vec<HostRule> = model.net.allowed_hosts.clone();
    if let Some(tenant) = tenant_hosts {
        let tenant: Vec<HostRule> = tenant.iter().filter_map(|h| h.parse().ok()).collect();
        rules.retain(|r| tenant.iter().any(|t| r.within(t)));
    }
    let key = match &model.net.api_key_env {
        None => None,
        Some(var) => match std::env::var(var) {
            Ok(k) if !k.is_empty() => Some(k),
            _ => {
                return Err(PluginError::Permanent(format!(
                    "model `{}`: the environment variable {var} (its api_key_env) is not set \
                     in the weft process",
                    model.name
                )));
            }
        },
    };
    let t = model.net.timeouts;
    let timeouts = HttpTimeouts {
        connect: t.connect,
        first_byte: t.first_byte,
        between_bytes: t.between_bytes,
    };
    HttpPolicy::new(&model.name, rules, key.as_deref(), timeouts)
        .map_err(|e| PluginError::Permanent(e.to_string()))
}

/// How a model request ended, for `weft_model_requests_total{model,outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ModelOutcome {
    /// The adapter answered.
    Ok,
    /// A transient error (timeout, 429, 5xx).
    Transient,
    /// A permanent error from the provider (4xx).
    Permanent,
    /// The adapter found the request or its config wrong.
    InvalidInput,
    /// The host refused one of the adapter's HTTP requests.
    Denied,
    /// Failed fast: the model's circuit is open.
    CircuitOpen,
    /// The model's API key variable is not set.
    NoKey,
}

impl ModelOutcome {
    /// The label value: `ok`, `transient`, `permanent`, `invalid_input`,
    /// `denied`, `circuit_open`, `no_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
            Self::InvalidInput => "invalid_input",
            Self::Denied => "denied",
            Self::CircuitOpen => "circuit_open",
            Self::NoKey => "no_key",
        }
    }
}

/// Model requests so far, by model and outcome (journal replays are not
/// requests and are not counted).
#[derive(Debug, Default)]
pub(crate) struct ModelRequests {
    counts: Mutex<BTreeMap<(String, ModelOutcome), u64>>,
}

impl ModelRequests {
    pub fn count(&self, model: &str, outcome: ModelOutcome) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((model.to_owned(), outcome))
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> Vec<(String, ModelOutcome, u64)> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|((m, o), n)| (m.clone(), *o, *n))
            .collect()
    }
}
