//! The queue side: promoting due delayed tasks, expiring leases, handing out
//! leases (`FOR UPDATE SKIP LOCKED`, in redb's order), the conditional lease
//! (a pool slot, and the pool's row lock for a rate limit), renewals.

use serde_json::json;
use weft_store_api::{
    EventKind, Lease, LeaseRecord, LeaseTry, PoolCap, RateCap, RunStatus, StoreError, TaskRecord,
    TaskState, TokenBucket,
};

use crate::conv::{i, u};
use crate::ops::common::{REDELIVERED, bump, check_fence, make_ready};
use crate::ops::ledger;
use crate::ops::pool_slots;
use crate::ops::records::{TASK_COLS, put_task, task_from};
use crate::tx::Tx;

/// Moves every delayed task with `ready_at <= now` to the ready queue (it
/// keeps its `ready_at`); rows another transaction holds are left for it.
pub(crate) async fn promote_due(t: &Tx<'_>, now: u64) -> Result<u64, StoreError> {
    t.exec(
        "UPDATE tasks SET state = 'ready' WHERE id IN (SELECT id FROM tasks \
         WHERE state = 'delayed' AND ready_at <= $1 FOR UPDATE SKIP LOCKED)",
        &[&i(now)],
    )
    .await
}

/// Hands every task whose lease ran out back to the ready queue; returns how
/// many. A task another transaction holds is left to it (a fenced call on it
/// reaps it itself).
pub(crate) async fn expire_due(t: &Tx<'_>, now: u64) -> Result<u64, StoreError> {
    let rows = t
        .rows(
            &format!(
                "SELECT {TASK_COLS} FROM tasks WHERE state = 'leased' AND lease_expires_at <= $1 \
                 ORDER BY lease_expires_at, id FOR UPDATE SKIP LOCKED"
            ),
            &[&i(now)],
        )
        .await?;
    for row in &rows {
        let (task, lease) = task_from(row)?;
        expire_one(t, task, lease.as_ref(), now).await?;
    }
    Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
}

/// Hands `task` (locked), whose lease ran out, back to the ready queue (same
/// attempt, `ready_at = now`), with a `lease-expired` event and
/// `redelivered` + 1.
pub(crate) async fn expire_one(
    t: &Tx<'_>,
    task: TaskRecord,
    lease: Option<&LeaseRecord>,
    now: u64,
) -> Result<(), StoreError> {
    let payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "owner": lease.map(|l| l.owner.clone()),
        "token": lease.map(|l| l.token), "expires_at": lease.map(|l| l.expires_at),
    });
    ledger::append(t, &task.run_id, now, EventKind::LeaseExpired, payload).await?;
    make_ready(t, task, now).await?;
    bump(t, REDELIVERED, 1).await?;
    Ok(())
}

/// Leases the best ready task of `pools` (every pool when `None`) to `owner`
/// after promoting due tasks and expiring stale leases.
pub(crate) async fn lease(
    t: &Tx<'_>,
    owner: &str,
    pools: Option<&[String]>,
    lease_ms: u64,
    now: u64,
) -> Result<Option<Lease>, StoreError> {
    if owner.is_empty() {
        return Err(StoreError::Invalid("a lease needs an owner".into()));
    }
    promote_due(t, now).await?;
    expire_due(t, now).await?;
    let row = match pools {
        Some(pools) => {
            let pools: Vec<&str> = pools.iter().map(String::as_str).collect();
            t.row(
                &format!(
                    "SELECT {TASK_COLS} FROM tasks WHERE state = 'ready' AND pool = ANY($1) \
                     ORDER BY priority DESC, ready_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                ),
                &[&pools],
            )
            .await?
        }
        None => {
            t.row(
                &format!(
                    "SELECT {TASK_COLS} FROM tasks WHERE state = 'ready' \
                     ORDER BY priority DESC, ready_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                ),
                &[],
            )
            .await?
        }
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let (task, _) = task_from(&row)?;
    lease_task_row(t, task, owner, lease_ms, None, now)
        .await
        .map(Some)
}

/// Leases task `id` if it is ready now and its pool passes `cap` (see
/// `QueueStore::lease_task`): the task's row is locked first; a capped pool
/// then needs a free slot (`pool_slots`, taken without waiting on other
/// leases), and a rate-limited one a token from its bucket, under the lock
/// of the pool's row.
pub(crate) async fn lease_task(
    t: &Tx<'_>,
    owner: &str,
    id: u64,
    admitted_by: &str,
    lease_ms: u64,
    cap: PoolCap,
    now: u64,
) -> Result<LeaseTry, StoreError> {
    if owner.is_empty() {
        return Err(StoreError::Invalid("a lease needs an owner".into()));
    }
    promote_due(t, now).await?;
    expire_due(t, now).await?;
    // A task another transaction holds is being leased (or changed) right
    // now: `Gone` at once, so the caller moves on to another task instead of
    // waiting for that commit to find it taken.
    let task = match t
        .row(
            &format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1 FOR UPDATE SKIP LOCKED"),
            &[&i(id)],
        )
        .await?
    {
        Some(row) => task_from(&row)?.0,
        None => return Ok(LeaseTry::Gone),
    };
    if task.state != TaskState::Ready {
        return Ok(LeaseTry::Gone);
    }
    let pool = task.pool.clone();
    let bucket = match cap.rate {
        Some(rate) => Some((rate, locked_bucket(t, &pool, rate, now).await?)),
        None => None,
    };
    let slot = if cap.max_concurrent == u32::MAX {
        None
    } else {
        match pool_slots::take_free(t, &pool, cap.max_concurrent, now).await? {
            Some(slot) => Some(slot),
            None => return Ok(LeaseTry::Full),
        }
    };
    if let Some((rate, bucket)) = bucket {
        if !bucket.has_token() {
            return Ok(LeaseTry::RateLimited {
                next_token_at: bucket.next_token_at(rate),
            });
        }
        let taken = bucket.taken();
        t.exec(
            "UPDATE pools SET bucket_micro = $2, bucket_at = $3 WHERE pool = $1",
            &[&pool, &i(taken.micro_tokens), &i(taken.at_ms)],
        )
        .await?;
    }
    let lease = lease_task_row(t, task, owner, lease_ms, Some((&pool, admitted_by)), now).await?;
    if let Some(slot) = slot {
        pool_slots::hold(t, &pool, slot, lease.task, lease.token).await?;
    }
    Ok(LeaseTry::Leased(lease))
}

/// `pool`'s token bucket refilled to `now`, its row locked (made on first use).
async fn locked_bucket(
    t: &Tx<'_>,
    pool: &str,
    rate: RateCap,
    now: u64,
) -> Result<TokenBucket, StoreError> {
    let sql = "SELECT bucket_micro, bucket_at FROM pools WHERE pool = $1 FOR UPDATE";
    let mut row = t.row(sql, &[&pool]).await?;
    if row.is_none() {
        t.exec(
            "INSERT INTO pools (pool) VALUES ($1) ON CONFLICT (pool) DO NOTHING",
            &[&pool],
        )
        .await?;
        row = t.row(sql, &[&pool]).await?;
    }
    let stored = row.and_then(|r| {
        let micro: Option<i64> = r.get(0);
        let at: Option<i64> = r.get(1);
        micro.zip(at).map(|(m, a)| TokenBucket {
            micro_tokens: u(m),
            at_ms: u(a),
        })
    });
    Ok(match stored {
        Some(b) => b.refilled(rate, now),
        None => TokenBucket::full(rate, now),
    })
}

/// Leases `task` (ready, locked): a new token, the lease, the run running,
/// a `step-started` event (naming the pool and `admitted_by` when given).
async fn lease_task_row(
    t: &Tx<'_>,
    mut task: TaskRecord,
    owner: &str,
    lease_ms: u64,
    admitted: Option<(&str, &str)>,
    now: u64,
) -> Result<Lease, StoreError> {
    task.state = TaskState::Leased;
    task.last_token += 1;
    let expires_at = now.saturating_add(lease_ms);
    let record = LeaseRecord {
        owner: owner.to_owned(),
        token: task.last_token,
        expires_at,
        leased_at: now,
    };
    put_task(t, &task, Some(&record)).await?;
    t.exec(
        "UPDATE runs SET status = $2, updated_ms = $3 WHERE id = $1 AND status = $4",
        &[
            &task.run_id,
            &RunStatus::Running.as_str(),
            &i(now),
            &RunStatus::Queued.as_str(),
        ],
    )
    .await?;
    let mut payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "owner": owner, "token": task.last_token, "expires_at": expires_at,
    });
    if let (Some((pool, by)), Some(map)) = (admitted, payload.as_object_mut()) {
        map.insert("pool".into(), json!(pool));
        map.insert("admitted_by".into(), json!(by));
    }
    ledger::append(t, &task.run_id, now, EventKind::StepStarted, payload).await?;
    Ok(Lease {
        task: task.id,
        run: task.run_id,
        step: task.step_id,
        attempt: task.attempt,
        token: record.token,
        expires_at,
    })
}

/// Extends a lease to `now + lease_ms`; refuses a stale token.
pub(crate) async fn renew(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    lease_ms: u64,
    now: u64,
) -> Result<u64, StoreError> {
    check_fence(t, task_id, token, "renew", now).await?;
    let expires_at = now.saturating_add(lease_ms);
    t.exec(
        "UPDATE tasks SET lease_expires_at = $2 WHERE id = $1",
        &[&i(task_id), &i(expires_at)],
    )
    .await?;
    Ok(expires_at)
}
