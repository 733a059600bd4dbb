//! [`SwapTarget`]: what a component swapped in at run time serves, and the
//! names it goes by — the override key `pool:<name>` / `retry:<flow>` the
//! store keeps, and the ledger stream `@pool:<name>` / `@retry:<flow>` that
//! records each swap.

use std::fmt;

/// What a swapped-in component serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SwapTarget {
    /// The policy of this pool.
    Pool(String),
    /// The retry strategy of this flow.
    Retry(String),
}

impl SwapTarget {
    /// The override key: `pool:<name>` or `retry:<flow>`.
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// The ledger stream its swaps are recorded in: `@pool:<name>` or
    /// `@retry:<flow>`.
    pub fn stream(&self) -> String {
        format!("@{self}")
    }

    /// The pool or flow name.
    pub fn name(&self) -> &str {
        match self {
            Self::Pool(name) | Self::Retry(name) => name,
        }
    }

    /// The target an override key names; `None` for a key of another kind.
    pub fn from_key(key: &str) -> Option<Self> {
        match key.split_once(':')? {
            ("pool", name) if !name.is_empty() => Some(Self::Pool(name.to_owned())),
            ("retry", name) if !name.is_empty() => Some(Self::Retry(name.to_owned())),
            _ => None,
        }
    }

    /// The target a ledger stream name (`@pool:<name>`) is the swap stream
    /// of; `None` for a run's stream or another kind.
    pub fn from_stream(stream: &str) -> Option<Self> {
        Self::from_key(stream.strip_prefix('@')?)
    }
}

impl fmt::Display for SwapTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pool(name) => write!(f, "pool:{name}"),
            Self::Retry(name) => write!(f, "retry:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SwapTarget;

    #[test]
    fn keys_and_streams_read_back_as_the_target_they_name() {
        for target in [
            SwapTarget::Pool("gpu".into()),
            SwapTarget::Retry("triage".into()),
        ] {
            assert_eq!(SwapTarget::from_key(&target.key()), Some(target.clone()));
            assert_eq!(
                SwapTarget::from_stream(&target.stream()),
                Some(target.clone())
            );
        }
        assert_eq!(SwapTarget::Pool("gpu".into()).stream(), "@pool:gpu");
        assert_eq!(SwapTarget::Retry("f".into()).key(), "retry:f");
    }

    #[test]
    fn other_keys_name_no_target() {
        for key in ["pool:", "model:x", "pool", "", "run-1"] {
            assert_eq!(SwapTarget::from_key(key), None, "{key}");
        }
        assert_eq!(SwapTarget::from_stream("pool:gpu"), None);
        // A name may hold a colon: only the first one separates the kind.
        assert_eq!(
            SwapTarget::from_key("pool:a:b"),
            Some(SwapTarget::Pool("a:b".into()))
        );
    }
}
