//! Reading a PostgreSQL store out for a copy: each run with everything that
//! belongs to it, and what belongs to no run, inside one snapshot.

use std::collections::BTreeMap;

use weft_store_api::{
    CopyCounters, CostRow, DaySeq, DayTotal, DeadLetter, JournalEntry, RunExport, StoreError,
    StoreExport, StreamExport, TaskExport,
};

use crate::conv::{from_text, lim, u, u32n};
use crate::ops::common::{REDELIVERED, STALE_REFUSALS};
use crate::ops::lock::{LOCK_COLS, lock_from};
use crate::ops::records::{TASK_COLS, task_from};
use crate::ops::schedule::{SCHEDULE_COLS, SCHEDULE_FIRES, state_from};
use crate::reads;
use crate::tx::Tx;

/// Up to `limit` runs with ids after `after`, in id order.
pub(crate) async fn runs(
    t: &Tx<'_>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<RunExport>, StoreError> {
    let rows = t
        .rows(
            "SELECT id FROM runs WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2",
            &[&after, &lim(limit)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.get(0);
        let export = run(t, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("run {id} vanished from its snapshot")))?;
        out.push(export);
    }
    Ok(out)
}

/// One run with everything that belongs to it; `None` if there is no such run.
pub(crate) async fn run(t: &Tx<'_>, id: &str) -> Result<Option<RunExport>, StoreError> {
    let Some(record) = reads::run_get(t, id).await? else {
        return Ok(None);
    };
    let tasks = t
        .rows(
            &format!("SELECT {TASK_COLS} FROM tasks WHERE run_id = $1 ORDER BY id"),
            &[&id],
        )
        .await?
        .iter()
        .map(|r| task_from(r).map(|(task, lease)| TaskExport { task, lease }))
        .collect::<Result<Vec<_>, _>>()?;
    let head = t
        .row(
            "SELECT seq, hash FROM ledger_head WHERE run_id = $1",
            &[&id],
        )
        .await?
        .map(|r| (u(r.get(0)), hex::encode(r.get::<_, Vec<u8>>(1))));
    let mut journal = Vec::new();
    for r in t
        .rows(
            "SELECT step_id, idx, value FROM journal WHERE run_id = $1 ORDER BY step_id, idx",
            &[&id],
        )
        .await?
    {
        journal.push(JournalEntry {
            step: r.get(0),
            index: u32n(r.get(1)),
            value: from_text(r.get(2))?,
        });
    }
    let mut artifacts = BTreeMap::new();
    for r in t
        .rows("SELECT key, value FROM artifacts WHERE run_id = $1", &[&id])
        .await?
    {
        artifacts.insert(r.get(0), from_text(r.get(1))?);
    }
    let dead_letters = t
        .rows(
            "SELECT task_id, run_id, step_id, reason, time_ms FROM dead_letters \
             WHERE run_id = $1 ORDER BY task_id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| DeadLetter {
            task: u(r.get(0)),
            run: r.get(1),
            step: r.get(2),
            reason: r.get(3),
            time_ms: u(r.get(4)),
        })
        .collect();
    let idempotency = t
        .row(
            "SELECT key, expires_at FROM idempotency WHERE run_id = $1 ORDER BY key LIMIT 1",
            &[&id],
        )
        .await?
        .map(|r| (r.get(0), u(r.get(1))));
    Ok(Some(RunExport {
        run: record,
        tasks,
        events: reads::ledger(t, id).await?,
        head,
        journal,
        outputs: reads::step_outputs(t, id).await?,
        artifacts,
        dead_letters,
        idempotency,
    }))
}

/// A counter's value (0 if absent).
async fn counter(t: &Tx<'_>, name: &str) -> Result<u64, StoreError> {
    Ok(
        t.row("SELECT value FROM counters WHERE name = $1", &[&name])
            .await?
            .map_or(0, |r| u(r.get(0))),
    )
}

/// (day, name) → micro-dollars rows of `table` (`cost_tenant_day` or `cost_pool_day`).
async fn day_totals(t: &Tx<'_>, sql: &str) -> Result<Vec<DayTotal>, StoreError> {
    Ok(t.rows(sql, &[])
        .await?
        .iter()
        .map(|r| DayTotal {
            day: r.get(0),
            name: r.get(1),
            micro_usd: u(r.get(2)),
        })
        .collect())
}

/// Everything that belongs to no run.
pub(crate) async fn rest(t: &Tx<'_>) -> Result<StoreExport, StoreError> {
    let schedules = t
        .rows(
            &format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY flow_id, key"),
            &[],
        )
        .await?
        .iter()
        .map(state_from)
        .collect();
    let locks = t
        .rows(
            &format!("SELECT {LOCK_COLS} FROM op_locks ORDER BY key"),
            &[],
        )
        .await?
        .iter()
        .map(lock_from)
        .collect();
    let cost_rows = t
        .rows(
            "SELECT day, tenant, pool, model, calls, input_tokens, output_tokens, micro_usd \
             FROM cost_detail ORDER BY day, tenant, pool, model",
            &[],
        )
        .await?
        .iter()
        .map(|r| CostRow {
            day: r.get(0),
            tenant: r.get(1),
            pool: r.get(2),
            model: r.get(3),
            calls: u(r.get(4)),
            input_tokens: u(r.get(5)),
            output_tokens: u(r.get(6)),
            micro_usd: u(r.get(7)),
        })
        .collect();
    let day_seqs = t
        .rows(
            "SELECT prefix, day, seq FROM day_seq ORDER BY prefix, day",
            &[],
        )
        .await?
        .iter()
        .map(|r| DaySeq {
            prefix: r.get(0),
            day: r.get(1),
            seq: u(r.get(2)),
        })
        .collect();
    let mut overrides = Vec::new();
    for r in t
        .rows("SELECT key, value FROM overrides ORDER BY key", &[])
        .await?
    {
        overrides.push((r.get(0), serde_json::from_str(r.get(1))?));
    }
    let mut streams = Vec::new();
    for r in t
        .rows(
            "SELECT run_id FROM ledger_head WHERE run_id LIKE '@%' ORDER BY run_id",
            &[],
        )
        .await?
    {
        let id: String = r.get(0);
        let events = reads::ledger(t, &id).await?;
        streams.push(StreamExport { id, events });
    }
    let last_task_id = t
        .row(
            "SELECT GREATEST((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM task_ids), \
             (SELECT COALESCE(MAX(id), 0) FROM tasks))",
            &[],
        )
        .await?
        .map_or(0, |r| u(r.get(0)));
    Ok(StoreExport {
        schedules,
        locks,
        cost_rows,
        tenant_days: day_totals(
            t,
            "SELECT day, tenant, micro_usd FROM cost_tenant_day ORDER BY day, tenant",
        )
        .await?,
        pool_days: day_totals(
            t,
            "SELECT day, pool, micro_usd FROM cost_pool_day ORDER BY day, pool",
        )
        .await?,
        day_seqs,
        overrides,
        streams,
        counters: CopyCounters {
            last_task_id,
            lock_tokens: counter(t, "lock_tokens").await?,
            stale_refusals: counter(t, STALE_REFUSALS).await?,
            redelivered: counter(t, REDELIVERED).await?,
            schedule_fires: counter(t, SCHEDULE_FIRES).await?,
        },
    })
}
