//! Components swapped in at run time (a pool's policy, a flow's retry
//! strategy): the override per key, kept so that it survives a restart, and
//! the swap recorded in a hash-chained ledger stream of its own.

use crate::db::OrDb;
use redb::{ReadTransaction, ReadableTable};
use serde_json::json;

use crate::ledger::{self, EventKind};
use crate::tables::{self, Tables, decode, encode};
use weft_store_api::{Override, StoreError, Swap};

/// Every override, by key.
pub(crate) fn overrides(rt: &ReadTransaction) -> Result<Vec<(String, Override)>, StoreError> {
    let table = rt.open_table(tables::OVERRIDES).db()?;
    let mut out = Vec::new();
    for entry in table.iter().db()? {
        let (k, v) = entry.db()?;
        out.push((k.value().to_owned(), decode(v.value())?));
    }
    Ok(out)
}

/// Stores the override and appends the `component-swapped` event.
pub(crate) fn record(t: &mut Tables<'_>, swap: &Swap, now: u64) -> Result<u64, StoreError> {
    if !swap.stream.starts_with('@') {
        return Err(StoreError::Invalid(format!(
            "a swap's ledger stream must start with `@` (got `{}`)",
            swap.stream
        )));
    }
    t.overrides
        .insert(swap.key.as_str(), encode(&swap.new)?.as_slice())
        .db()?;
    let mut payload = json!({
        "key": swap.key, "old_sha256": swap.old_sha256,
        "new_sha256": swap.new.sha256, "config": swap.new.config,
    });
    if let Some(name) = &swap.new.name {
        payload["name"] = json!(name);
    }
    ledger::append(t, &swap.stream, now, EventKind::ComponentSwapped, payload)
}
