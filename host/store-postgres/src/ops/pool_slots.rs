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

/// Whether a slot is free, with the slot as `s`, its holder's task as `k`
/// and now as `$3`.
macro_rules! free {
    () => {
        "(s.task IS NULL OR k.id IS NULL OR k.state <> 'leased' \
         OR k.last_token <> s.token OR k.lease_expires_at <= $3)"
    };
}

/// A free slot below `$2` not in `$4`, locked (see [`take_free`]).
const PICK: &str = concat!(
    "SELECT s.slot FROM pool_slots s LEFT JOIN tasks k ON k.id = s.task \
     WHERE s.pool = $1 AND s.slot < $2 AND NOT (s.slot = ANY($4)) AND ",
    free!(),
    " ORDER BY s.slot LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
);

/// Whether slot `$2` is free.
const STILL_FREE: &str = concat!(
    "SELECT 1 FROM pool_slots s LEFT JOIN tasks k ON k.id = s.task \
     WHERE s.pool = $1 AND s.slot = $2 AND ",
    free!()
);

/// A free slot of `pool` below `max`, locked by this transaction; `None`
/// when every slot below `max` is held (or being taken right now).
///
/// Why two statements: the locking `SELECT` sees the slots as of its
/// snapshot, and when a slot it picked was taken and committed meanwhile,
/// PostgreSQL rechecks only the slot's new row, joined with the *old* task
/// row (or the old NULL of the outer join). So a slot taken a moment ago can
/// look free. Once the lock is held nobody else can take the slot, and the
/// next statement (read committed: a new snapshot) sees its true holder.
pub(crate) async fn take_free(
    t: &Tx<'_>,
    pool: &str,
    max: u32,
    now: u64,
) -> Result<Option<i32>, StoreError> {
    let max = i32::try_from(max).unwrap_or(i32::MAX);
    let mut busy: Vec<i32> = Vec::new();
    let mut made_more = false;
    while busy.len() < MAX_RECHECKS {
        let pick = t.row(PICK, &[&pool, &max, &i(now), &busy]).await?;
        match pick {
            Some(row) => {
                let slot: i32 = row.get(0);
                if still_free(t, pool, slot, now).await? {
                    return Ok(Some(slot));
                }
                busy.push(slot);
            }
            None if busy.is_empty() && !made_more => {
                made_more = true;
                if !make_more(t, pool, max).await? {
                    return Ok(None);
                }
            }
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// How many picked slots may turn out taken before a lease gives up (each
/// one is a lease committed between a pick's snapshot and its lock).
const MAX_RECHECKS: usize = 64;

/// Whether `slot`, locked by this transaction, is free as of now.
async fn still_free(t: &Tx<'_>, pool: &str, slot: i32, now: u64) -> Result<bool, StoreError> {
    let row = t.row(STILL_FREE, &[&pool, &slot, &i(now)]).await?;
    Ok(row.is_some())
}

/// Makes up to `SLOTS_AT_ONCE` more slots of `pool` below `max`; `false`
/// when all `max` are made already.
async fn make_more(t: &Tx<'_>, pool: &str, max: i32) -> Result<bool, StoreError> {
    let made: i64 = t
        .row(
            "SELECT count(*) FROM pool_slots WHERE pool = $1 AND slot < $2",
            &[&pool, &max],
        )
        .await?
        .map_or(0, |r| r.get(0));
    if made >= i64::from(max) {
        return Ok(false);
    }
    let upto = (made + SLOTS_AT_ONCE).min(i64::from(max));
    t.exec(
        "INSERT INTO pool_slots (pool, slot) \
         SELECT $1, g::integer FROM generate_series($2::bigint, $3::bigint - 1) g \
         ON CONFLICT DO NOTHING",
        &[&pool, &made, &upto],
    )
    .await?;
    Ok(true)
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
