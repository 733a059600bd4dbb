//! Queries. Those that read several tables run on one read-only snapshot
//! (`read_tx!`), as redb's read transactions do.

pub(crate) mod pools;

use std::collections::BTreeMap;

use serde_json::Value;
use weft_store_api::{
    Counters, DeadLetter, LedgerEvent, MaybeEvent, RunEvents, RunFilter, RunRecord, StoreError,
    VerifyReport,
};

use crate::conv::{from_text, i, lim, u};
use crate::ops::common::{REDELIVERED, STALE_REFUSALS};
use crate::ops::ledger::{EVENT_COLS, event_from};
use crate::ops::records::{RUN_COLS, run_from};
use crate::ops::schedule::SCHEDULE_FIRES;
use crate::tx::Tx;

/// One run.
pub(crate) async fn run_get(t: &Tx<'_>, id: &str) -> Result<Option<RunRecord>, StoreError> {
    t.row(
        &format!("SELECT {RUN_COLS} FROM runs WHERE id = $1"),
        &[&id],
    )
    .await?
    .map(|r| run_from(&r))
    .transpose()
}

/// Up to `limit` runs matching `filter`, newest first.
pub(crate) async fn runs_list(
    t: &Tx<'_>,
    limit: usize,
    filter: &RunFilter,
) -> Result<Vec<RunRecord>, StoreError> {
    let rows = t
        .rows(
            &format!(
                "SELECT {RUN_COLS} FROM runs WHERE ($1::text IS NULL OR tenant = $1) \
                 AND ($2::text IS NULL OR flow_id = $2) AND ($3::text IS NULL OR status = $3) \
                 AND ($5::bigint IS NULL OR created_ms >= $5) \
                 AND ($6::bigint IS NULL OR created_ms < $6) \
                 AND ($7::bigint IS NULL OR (created_ms, id) < ($7, $8::text)) \
                 ORDER BY created_ms DESC, id DESC LIMIT $4"
            ),
            &[
                &filter.tenant,
                &filter.flow_id,
                &filter.status.map(|s| s.as_str()),
                &lim(limit),
                &filter.since_ms.map(i),
                &filter.until_ms.map(i),
                &filter.before.as_ref().map(|c| i(c.created_ms)),
                &filter.before.as_ref().map(|c| c.id.as_str()),
            ],
        )
        .await?;
    rows.iter().map(run_from).collect()
}

/// A run's ledger events after `after`, in order.
pub(crate) async fn events(
    t: &Tx<'_>,
    run: &str,
    after: u64,
) -> Result<Vec<MaybeEvent>, StoreError> {
    let rows = t
        .rows(
            &format!("SELECT {EVENT_COLS} FROM ledger WHERE run_id = $1 AND seq > $2 ORDER BY seq"),
            &[&run, &i(after)],
        )
        .await?;
    Ok(rows.iter().map(event_from).collect())
}

/// A run's ledger; an undecodable event is an error.
pub(crate) async fn ledger(t: &Tx<'_>, run: &str) -> Result<Vec<LedgerEvent>, StoreError> {
    events(t, run, 0)
        .await?
        .into_iter()
        .map(|e| {
            e.map_err(|(seq, why)| StoreError::Corrupt(format!("ledger {run} seq {seq}: {why}")))
        })
        .collect()
}

/// The head (seq, hash) of a run's ledger.
async fn head(t: &Tx<'_>, run: &str) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let Some(r) = t
        .row(
            "SELECT seq, hash FROM ledger_head WHERE run_id = $1",
            &[&run],
        )
        .await?
    else {
        return Ok(None);
    };
    let hash: [u8; 32] = r
        .get::<_, Vec<u8>>(1)
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("ledger head of {run}: hash is not 32 bytes")))?;
    Ok(Some((u(r.get(0)), hash)))
}

/// Recomputes `run`'s chain (the contract's `verify_events`) and checks it
/// against the run's record (`check_against_run`), as redb does.
pub(crate) async fn verify(t: &Tx<'_>, run: &str) -> Result<VerifyReport, StoreError> {
    let record = run_get(t, run).await?;
    let events = events(t, run, 0).await?;
    let head = head(t, run).await?;
    if events.is_empty() && head.is_none() && record.is_none() {
        return Err(StoreError::RunNotFound(run.to_owned()));
    }
    let kinds: Vec<(u64, String)> = events
        .iter()
        .filter_map(|e| e.as_ref().ok())
        .map(|e| (e.seq, e.kind.clone()))
        .collect();
    let mut report = weft_store_api::verify_events(run, events, head);
    if report.first_bad.is_none() {
        report.first_bad = record
            .as_ref()
            .and_then(|r| weft_store_api::check_against_run(r, &kinds, report.events));
    }
    Ok(report)
}

/// The run, its open task count and its events after `after`.
pub(crate) async fn run_events(
    t: &Tx<'_>,
    run_id: &str,
    after: u64,
) -> Result<Option<RunEvents>, StoreError> {
    let Some(run) = run_get(t, run_id).await? else {
        return Ok(None);
    };
    let open: i64 = t
        .row(
            "SELECT count(*) FROM tasks WHERE run_id = $1 AND state IN ('ready', 'delayed', 'leased')",
            &[&run_id],
        )
        .await?
        .map_or(0, |r| r.get(0));
    let events = if after < u64::MAX {
        ledger_after(t, run_id, after).await?
    } else {
        Vec::new()
    };
    let last_seq = head(t, run_id).await?.map_or(0, |h| h.0);
    Ok(Some(RunEvents {
        run,
        open_tasks: u(open),
        events,
        last_seq,
    }))
}

async fn ledger_after(t: &Tx<'_>, run: &str, after: u64) -> Result<Vec<LedgerEvent>, StoreError> {
    events(t, run, after)
        .await?
        .into_iter()
        .map(|e| {
            e.map_err(|(seq, why)| StoreError::Corrupt(format!("ledger {run} seq {seq}: {why}")))
        })
        .collect()
}

/// Step id → output of every completed step of a run.
pub(crate) async fn step_outputs(
    t: &Tx<'_>,
    run: &str,
) -> Result<BTreeMap<String, Value>, StoreError> {
    let mut out = BTreeMap::new();
    for r in t
        .rows(
            "SELECT step_id, value FROM step_outputs WHERE run_id = $1",
            &[&run],
        )
        .await?
    {
        out.insert(r.get(0), from_text(r.get(1))?);
    }
    Ok(out)
}

/// Every dead-lettered task, by task id.
pub(crate) async fn dlq_list(t: &Tx<'_>) -> Result<Vec<DeadLetter>, StoreError> {
    let rows = t
        .rows(
            "SELECT task_id, run_id, step_id, reason, time_ms FROM dead_letters ORDER BY task_id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| DeadLetter {
            task: u(r.get(0)),
            run: r.get(1),
            step: r.get(2),
            reason: r.get(3),
            time_ms: u(r.get(4)),
        })
        .collect())
}

/// The persistent counters.
pub(crate) async fn counters(t: &Tx<'_>) -> Result<Counters, StoreError> {
    let rows = t
        .rows(
            "SELECT name, value FROM counters WHERE name = ANY($1)",
            &[&vec![STALE_REFUSALS, REDELIVERED, SCHEDULE_FIRES]],
        )
        .await?;
    let get = |name: &str| {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == name)
            .map_or(0, |r| u(r.get(1)))
    };
    let tasks: i64 = t
        .row("SELECT count(*) FROM tasks", &[])
        .await?
        .map_or(0, |r| r.get(0));
    Ok(Counters {
        stale_refusals: get(STALE_REFUSALS),
        redelivered: get(REDELIVERED),
        schedule_fires: get(SCHEDULE_FIRES),
        tasks_created: u(tasks),
    })
}

/// The earliest delayed `ready_at` or lease expiry, if any.
pub(crate) async fn next_due(t: &Tx<'_>) -> Result<Option<u64>, StoreError> {
    let r = t
        .row(
            "SELECT least((SELECT min(ready_at) FROM tasks WHERE state = 'delayed'), \
             (SELECT min(lease_expires_at) FROM tasks WHERE state = 'leased'))",
            &[],
        )
        .await?;
    Ok(r.and_then(|r| r.get::<_, Option<i64>>(0)).map(u))
}

/// When the first lease runs out.
pub(crate) async fn next_lease_expiry(t: &Tx<'_>) -> Result<Option<u64>, StoreError> {
    let r = t
        .row(
            "SELECT min(lease_expires_at) FROM tasks WHERE state = 'leased'",
            &[],
        )
        .await?;
    Ok(r.and_then(|r| r.get::<_, Option<i64>>(0)).map(u))
}
