//! Idempotency keys: storing one with its expiry entry, and purging the keys
//! whose time is up.
//!
//! A key names its run until `expires_at`; from then on a submit with it takes
//! it over (`submit::check_submit`). Without a purge the table would only grow:
//! [`purge_expired`] removes the keys that have run out, a range scan of
//! `idempotency_expiry`. Removing an expired key changes no answer, since an
//! expired key is treated as absent.

use crate::db::OrDb;
use redb::ReadableTable;

use crate::tables::Tables;
use weft_store_api::StoreError;

/// Stores `key` → (`run`, `expires_at`) with its expiry entry, dropping the
/// expiry entry of the run the key named before (a takeover).
pub fn put(t: &mut Tables<'_>, key: &str, run: &str, expires_at: u64) -> Result<(), StoreError> {
    let old = t.idempotency.get(key).db()?.map(|g| g.value().1);
    if let Some(old) = old {
        t.idempotency_expiry.remove((old, key)).db()?;
    }
    t.idempotency.insert(key, (run, expires_at)).db()?;
    t.idempotency_expiry.insert((expires_at, key), ()).db()?;
    Ok(())
}

/// Removes at most `limit` keys that have run out at `now` (`expires_at <=
/// now`), oldest expiry first; returns how many.
pub fn purge_expired(t: &mut Tables<'_>, now: u64, limit: usize) -> Result<usize, StoreError> {
    let mut expired = Vec::new();
    for entry in t
        .idempotency_expiry
        .range((0u64, "")..(now.saturating_add(1), ""))
        .db()?
        .take(limit)
    {
        let (guard, _) = entry.db()?;
        let (expires_at, key) = guard.value();
        expired.push((expires_at, key.to_owned()));
    }
    for (expires_at, key) in &expired {
        t.idempotency_expiry
            .remove((*expires_at, key.as_str()))
            .db()?;
        // Only if the key still has that expiry (a takeover moved it otherwise).
        let current = t.idempotency.get(key.as_str()).db()?.map(|g| g.value().1);
        if current == Some(*expires_at) {
            t.idempotency.remove(key.as_str()).db()?;
        }
    }
    Ok(expired.len())
}
