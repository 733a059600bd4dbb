//! `submit_run`: idempotency (a primary key; a live key is never taken
//! over), run id allocation (a per-prefix, per-day row, see `run_seq`), the run, its first
//! tasks.

use serde_json::Value;
use weft_store_api::{
    EventKind, NewRun, RunCost, RunRecord, RunStatus, StoreError, StrictPool, Submitted,
};

use crate::conv::{i, u};
use crate::ops::common::{check_new_tasks, create_tasks};
use crate::ops::ledger;
use crate::ops::records::{get_run, insert_run};
use crate::tx::{Tx, run_again};

/// Submits a run, or returns the live run of its idempotency key; a new run
/// takes the number `seq` (from [`crate::PgStore::next_run_seq`]).
pub(crate) async fn submit_run(
    t: &Tx<'_>,
    new: &NewRun,
    strict: &[StrictPool],
    seq: u64,
    now: u64,
) -> Result<Submitted, StoreError> {
    match check_submit(t, new, now).await? {
        Some(run_id) => Ok(Submitted {
            run_id,
            created: false,
        }),
        None => {
            check_room(t, new, strict, now).await?;
            Ok(Submitted {
                run_id: create_run(t, new, now, None, Some(seq)).await?,
                created: true,
            })
        }
    }
}

/// `Err(PoolExhausted)` for the first pool of `strict` (in name order, so
/// that two submits lock them in the same order) that one of `new`'s first
/// tasks enters and whose live leases plus queued tasks reach its
/// `max_concurrent`. The pool's row in `pools` is locked first and held to
/// the commit: submits into one strict pool go one at a time, and each counts
/// what the ones before it committed (leases only move a task from queued to
/// running, which leaves the sum alone).
async fn check_room(
    t: &Tx<'_>,
    new: &NewRun,
    strict: &[StrictPool],
    now: u64,
) -> Result<(), StoreError> {
    for pool in StrictPool::entered(strict, &new.initial_tasks) {
        let name = pool.pool.as_str();
        t.exec(
            "INSERT INTO pools (pool) VALUES ($1) ON CONFLICT (pool) DO NOTHING",
            &[&name],
        )
        .await?;
        t.exec("SELECT 1 FROM pools WHERE pool = $1 FOR UPDATE", &[&name])
            .await?;
        let counts = t
            .row(
                "SELECT count(*) FILTER (WHERE state = 'leased' AND lease_expires_at > $2), \
                        count(*) FILTER (WHERE state = 'ready') \
                 FROM tasks WHERE pool = $1 AND state IN ('leased', 'ready')",
                &[&name, &i(now)],
            )
            .await?;
        let (active, queued) = counts.map_or((0, 0), |r| (u(r.get(0)), u(r.get(1))));
        pool.check_room(active, queued)?;
    }
    Ok(())
}

/// Checks a run to submit without writing: `Some(run)` when its idempotency
/// key names a live run (same flow and input), `None` when it is to be
/// created. The key's row, if any, is locked, so a racing submit waits.
pub(crate) async fn check_submit(
    t: &Tx<'_>,
    new: &NewRun,
    now: u64,
) -> Result<Option<String>, StoreError> {
    weft_store_api::check_prefix(&new.id_prefix)?;
    if new.flow_id.is_empty() {
        return Err(StoreError::Invalid("a run needs a flow id".into()));
    }
    check_new_tasks(&new.initial_tasks)?;
    let Some((key, _)) = &new.idempotency_key else {
        return Ok(None);
    };
    if key.is_empty() {
        return Err(StoreError::Invalid(
            "an idempotency key must not be empty".into(),
        ));
    }
    let Some(row) = t
        .row(
            "SELECT run_id, expires_at FROM idempotency WHERE key = $1 FOR UPDATE",
            &[key],
        )
        .await?
    else {
        return Ok(None);
    };
    let run: String = row.get(0);
    if u(row.get(1)) <= now {
        return Ok(None);
    }
    let existing = get_run(t, &run, false).await?;
    if existing.flow_id != new.flow_id || existing.input != new.input {
        return Err(StoreError::IdempotencyConflict {
            key: key.clone(),
            run,
        });
    }
    Ok(Some(run))
}

/// Creates a run that [`check_submit`] accepted; `origin` goes into the
/// `run-created` payload when given. Its number is `seq`, or the next one of
/// the day's row, taken in this transaction (cron fires, which are few).
/// Returns the run id.
pub(crate) async fn create_run(
    t: &Tx<'_>,
    new: &NewRun,
    now: u64,
    origin: Option<Value>,
    seq: Option<u64>,
) -> Result<String, StoreError> {
    let id = allocate_id(t, &new.id_prefix, seq, now).await?;
    let run = RunRecord {
        id: id.clone(),
        flow_id: new.flow_id.clone(),
        flow_version: new.flow_version.clone(),
        tenant: new.tenant.clone(),
        status: RunStatus::Queued,
        input: new.input.clone(),
        output: None,
        error: None,
        created_ms: now,
        updated_ms: now,
        priority: new.priority,
        cost: RunCost::default(),
    };
    insert_run(t, &run).await?;
    if let Some((key, ttl)) = &new.idempotency_key {
        // Takes over an expired key only; a key that became live since the
        // check (a racing submit committed it) changes no row: run again.
        let n = t
            .exec(
                "INSERT INTO idempotency (key, run_id, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET run_id = EXCLUDED.run_id, \
                 expires_at = EXCLUDED.expires_at WHERE idempotency.expires_at <= $4",
                &[key, &id, &i(now.saturating_add(*ttl)), &i(now)],
            )
            .await?;
        if n == 0 {
            return Err(run_again());
        }
    }
    let task_ids = create_tasks(t, &id, &run.tenant, &new.initial_tasks, now).await?;
    if let Some(at) = new.not_before.filter(|at| *at > now) {
        t.exec(
            "UPDATE tasks SET state = 'delayed', ready_at = $2 WHERE run_id = $1",
            &[&id, &i(at)],
        )
        .await?;
    }
    let payload = weft_store_api::run_created_payload(&run, new, &task_ids, origin);
    ledger::append(t, &id, now, EventKind::RunCreated, payload).await?;
    Ok(id)
}

/// Forms a run id not taken yet from `seq`, or from the next sequence number
/// of `prefix` on the UTC day of `now` (its row then locked until the commit).
async fn allocate_id(
    t: &Tx<'_>,
    prefix: &str,
    seq: Option<u64>,
    now: u64,
) -> Result<String, StoreError> {
    let date = weft_store_api::utc_date(now);
    let seq = match seq {
        Some(seq) => seq,
        None => next_in_tx(t, prefix, &date).await?,
    };
    for salt in 0..8 {
        let id = weft_store_api::format_id(
            prefix,
            &date,
            seq,
            &weft_store_api::random_suffix(now ^ seq ^ salt),
        );
        if t.row("SELECT 1 FROM runs WHERE id = $1", &[&id])
            .await?
            .is_none()
        {
            return Ok(id);
        }
    }
    Err(StoreError::Corrupt(format!(
        "run id sequence {seq} of {prefix} on {date} is already taken"
    )))
}

/// The next number of `prefix` on `date`, from its row in this transaction.
async fn next_in_tx(t: &Tx<'_>, prefix: &str, date: &str) -> Result<u64, StoreError> {
    Ok(t.wrows(
        "INSERT INTO day_seq (prefix, day, seq) VALUES ($1, $2, 1) \
             ON CONFLICT (prefix, day) DO UPDATE SET seq = day_seq.seq + 1 RETURNING seq",
        &[&prefix, &date],
    )
    .await?
    .first()
    .map_or(1, |r| u(r.get(0))))
}
