//! The per-pool lease index (`POOL_LEASES`) and the checks a conditional
//! lease makes in its own transaction: the pool's concurrency cap and its
//! token bucket (`POOL_BUCKETS`).
//!
//! Every lease written goes through [`insert`], every lease taken away through
//! [`remove`]; [`rebuild`] makes the index from `LEASES` for a store written
//! before it existed.

use crate::db::OrDb;

use redb::{ReadableTable, WriteTransaction};

use crate::tables::{self, Tables, decode};
use weft_store_api::{PoolCap, StoreError, TaskRecord, TokenBucket};

/// The counter that says the index is built.
const BUILT: &str = "pool_leases_v1";

/// Records that `task` of `pool` holds a lease.
pub fn insert(t: &mut Tables<'_>, pool: &str, task: u64) -> Result<(), StoreError> {
    t.pool_leases.insert((pool, task), ()).db()?;
    Ok(())
}

/// Records that `task` of `pool` holds no lease any more (a no-op if it held
/// none).
pub fn remove(t: &mut Tables<'_>, pool: &str, task: u64) -> Result<(), StoreError> {
    t.pool_leases.remove((pool, task)).db()?;
    Ok(())
}

/// How many leases `pool` holds. Callers expire the leases that ran out first,
/// so every one counted is live.
pub fn count(t: &Tables<'_>, pool: &str) -> Result<u64, StoreError> {
    let mut n = 0u64;
    for entry in t.pool_leases.range((pool, 0u64)..=(pool, u64::MAX)).db()? {
        entry.db()?;
        n += 1;
    }
    Ok(n)
}

/// Why a pool cannot take one more lease now.
pub enum Refused {
    /// It holds `max_concurrent` leases.
    Full,
    /// Its bucket is empty until then (ms).
    RateLimited(u64),
}

/// Checks `cap` for one more lease of `pool` at `now` and, if it passes,
/// takes a token from the pool's bucket (`None`). Nothing is written on a
/// refusal.
pub fn admit(
    t: &mut Tables<'_>,
    pool: &str,
    cap: PoolCap,
    now: u64,
) -> Result<Option<Refused>, StoreError> {
    if count(t, pool)? >= u64::from(cap.max_concurrent) {
        return Ok(Some(Refused::Full));
    }
    let Some(rate) = cap.rate else {
        return Ok(None);
    };
    let bucket = match t.pool_buckets.get(pool).db()? {
        Some(g) => {
            let (micro_tokens, at_ms) = g.value();
            TokenBucket {
                micro_tokens,
                at_ms,
            }
            .refilled(rate, now)
        }
        None => TokenBucket::full(rate, now),
    };
    if !bucket.has_token() {
        return Ok(Some(Refused::RateLimited(bucket.next_token_at(rate))));
    }
    let taken = bucket.taken();
    t.pool_buckets
        .insert(pool, (taken.micro_tokens, taken.at_ms))
        .db()?;
    Ok(None)
}

/// Builds `POOL_LEASES` from `LEASES` if this store has not had it built yet.
pub fn rebuild(tx: &WriteTransaction) -> Result<u64, StoreError> {
    let mut counters = tx.open_table(tables::COUNTERS).db()?;
    if counters.get(BUILT).db()?.is_some() {
        return Ok(0);
    }
    let leases = tx.open_table(tables::LEASES).db()?;
    let tasks = tx.open_table(tables::TASKS).db()?;
    let mut index = tx.open_table(tables::POOL_LEASES).db()?;
    let mut n = 0u64;
    for entry in leases.iter().db()? {
        let id = entry.db()?.0.value();
        if let Some(g) = tasks.get(id).db()? {
            let task: TaskRecord = decode(g.value())?;
            index.insert((task.pool.as_str(), id), ()).db()?;
            n += 1;
        }
    }
    counters.insert(BUILT, 1).db()?;
    Ok(n)
}
