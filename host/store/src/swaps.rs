//! Components swapped in at run time (a pool's policy, a flow's retry
//! strategy): the override per key, kept so that it survives a restart, and
//! the swap recorded in a hash-chained ledger stream of its own.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::StoreError;
use crate::ledger::{self, EventKind};
use crate::store::Store;
use crate::tables::{self, Tables, decode, encode};

/// A component that replaces the one `weft.yaml` names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// The component's SHA-256 (hex); its bytes are kept by the caller under
    /// this name.
    pub sha256: String,
    /// The config it is called with (`None`: the one `weft.yaml` gives).
    pub config: Option<Value>,
    /// When it was swapped in (ms since the Unix epoch).
    pub swapped_ms: u64,
    /// What to call it (e.g. `fair-share`, from the file swapped in); `None`
    /// for an override stored before names were kept, or swapped in unnamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A swap to record: `key` (`pool:<name>` or `retry:<flow>`) gets `new`; the
/// ledger stream `stream` (`@pool:<name>`, `@retry:<flow>`) records it with the
/// sha256 it replaces.
#[derive(Debug, Clone)]
pub struct Swap {
    /// The override's key.
    pub key: String,
    /// The ledger stream to record the swap in.
    pub stream: String,
    /// The sha256 of the component in use before (from `weft.yaml` or an
    /// earlier swap).
    pub old_sha256: String,
    /// The new component.
    pub new: Override,
}

impl Store {
    /// Stores `swap.new` under `swap.key` and appends a `component-swapped`
    /// event (key, old and new sha256, config) to `swap.stream`, in one commit.
    /// Returns the event's seq in the stream.
    pub async fn record_swap(&self, swap: Swap, now: u64) -> Result<u64, StoreError> {
        self.write(move |t| record(t, &swap, now)).await
    }

    /// Every override, by key.
    pub fn overrides(&self) -> Result<Vec<(String, Override)>, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::OVERRIDES)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                out.push((k.value().to_owned(), decode(v.value())?));
            }
            Ok(out)
        })
    }
}

fn record(t: &mut Tables<'_>, swap: &Swap, now: u64) -> Result<u64, StoreError> {
    if !swap.stream.starts_with('@') {
        return Err(StoreError::Invalid(format!(
            "a swap's ledger stream must start with `@` (got `{}`)",
            swap.stream
        )));
    }
    t.overrides
        .insert(swap.key.as_str(), encode(&swap.new)?.as_slice())?;
    let mut payload = json!({
        "key": swap.key, "old_sha256": swap.old_sha256,
        "new_sha256": swap.new.sha256, "config": swap.new.config,
    });
    if let Some(name) = &swap.new.name {
        payload["name"] = json!(name);
    }
    ledger::append(t, &swap.stream, now, EventKind::ComponentSwapped, payload)
}
