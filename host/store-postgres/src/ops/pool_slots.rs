//! A pool's `max_concurrent` as slot rows (migration `0005_pool_slots`): a
//! conditional lease takes a free slot, so leases of one pool do not wait
//! for each other's commits, and no more leases than slots are ever live.
//!
//! A slot is free when no task holds it, or when the lease that took it has
//! ended (its task is not leased, or leased again with another token) or run
//! out. Slots are made on first need, `SLOTS_AT_ONCE` at a time, numbered
//! from 0; a lower `max_concurrent` simply leaves the higher slots unused.

use weft_store_api::StoreError;

use crate::conv::i;
use crate::tx::Tx;

/// Slots created at once when a pool needs more.
const SLOTS_AT_ONCE: i64 = 64;

/// A free slot of `pool` below `max`, locked by this transaction; `None`
/// when every slot below `max` is held (or being taken right now).
pub(crate) async fn take_free(
    t: &Tx<'_>,
    pool: &str,
    max: u32,
    now: u64,
) -> Result<Option<i32>, StoreError> {
    let max = i32::try_from(max).unwrap_or(i32::MAX);
    for _ in 0..2 {
        let free = t
            .row(
                "SELECT s.slot FROM pool_slots s LEFT JOIN tasks k ON k.id = s.task \
                 WHERE s.pool = $1 AND s.slot < $2 AND (s.task IS NULL OR k.id IS NULL \
                   OR k.state <> 'leased' OR k.last_token <> s.token OR k.lease_expires_at <= $3) \
                 ORDER BY s.slot LIMIT 1 FOR UPDATE OF s SKIP LOCKED",
                &[&pool, &max, &i(now)],
            )
            .await?;
        if let Some(row) = free {
            return Ok(Some(row.get(0)));
        }
        let made: i64 = t
            .row(
                "SELECT count(*) FROM pool_slots WHERE pool = $1 AND slot < $2",
                &[&pool, &max],
            )
            .await?
            .map_or(0, |r| r.get(0));
        if made >= i64::from(max) {
            return Ok(None);
        }
        let upto = (made + SLOTS_AT_ONCE).min(i64::from(max));
        t.exec(
            "INSERT INTO pool_slots (pool, slot) \
             SELECT $1, g::integer FROM generate_series($2::bigint, $3::bigint - 1) g \
             ON CONFLICT DO NOTHING",
            &[&pool, &made, &upto],
        )
        .await?;
    }
    Ok(None)
}

/// Marks `slot` of `pool` as held by `task`'s lease with `token`.
pub(crate) async fn hold(
    t: &Tx<'_>,
    pool: &str,
    slot: i32,
    task: u64,
    token: u64,
) -> Result<(), StoreError> {
    t.exec(
        "UPDATE pool_slots SET task = $3, token = $4 WHERE pool = $1 AND slot = $2",
        &[&pool, &slot, &i(task), &i(token)],
    )
    .await?;
    Ok(())
}
