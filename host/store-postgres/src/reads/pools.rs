//! Queue-wide reads: stats, a pool's view, the pools with work, and the task
//! the next lease would take.

use weft_store_api::{
    NextTask, PoolTask, PoolView, QueueStats, StoreError, TokenBucket, ViewLimits,
};

use crate::conv::{i, u, u32n};
use crate::ops::records::task_state;
use crate::tx::Tx;

/// A snapshot of the queue at `now` (run on a snapshot).
pub(crate) async fn queue_stats(t: &Tx<'_>, now: u64) -> Result<QueueStats, StoreError> {
    let mut stats = QueueStats::default();
    let mut oldest: Option<u64> = None;
    for r in t
        .rows(
            "SELECT pool, count(*), min(ready_at) FROM tasks WHERE state = 'ready' GROUP BY pool",
            &[],
        )
        .await?
    {
        stats.ready_by_pool.insert(r.get(0), u(r.get(1)));
        let at = u(r.get(2));
        oldest = Some(oldest.map_or(at, |o| o.min(at)));
    }
    stats.oldest_ready_age_ms = oldest.map(|o| now.saturating_sub(o));
    let r = t
        .row(
            "SELECT count(*) FILTER (WHERE state = 'leased'), \
             count(*) FILTER (WHERE state = 'delayed'), \
             count(*) FILTER (WHERE state = 'delayed' AND ready_at <= $1), \
             (SELECT count(*) FROM dead_letters) FROM tasks",
            &[&i(now)],
        )
        .await?;
    if let Some(r) = r {
        stats.inflight = u(r.get(0));
        stats.delayed = u(r.get(1));
        stats.delayed_due = u(r.get(2));
        stats.dlq = u(r.get(3));
    }
    Ok(stats)
}

/// The pools that have a ready task, sorted.
pub(crate) async fn ready_pools(t: &Tx<'_>) -> Result<Vec<String>, StoreError> {
    let rows = t
        .rows(
            "SELECT DISTINCT pool FROM tasks WHERE state = 'ready' ORDER BY pool",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The pools that have a ready task or a live lease, sorted.
pub(crate) async fn busy_pools(t: &Tx<'_>, now: u64) -> Result<Vec<String>, StoreError> {
    let rows = t
        .rows(
            "SELECT DISTINCT pool FROM tasks WHERE state = 'ready' \
             OR (state = 'leased' AND lease_expires_at > $1) ORDER BY pool",
            &[&i(now)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A pool's running and queued tasks at `now` (see `QueueStore::pool_view`),
/// choosing the queued ones as redb does: every tenant's head first, then
/// more of each up to `per_tenant`, `candidates` in all, `scan` rows read.
/// The running tasks are read from the pool's leases, the queued from the
/// per-tenant ready index, so neither reads the whole queue.
pub(crate) async fn pool_view(
    t: &Tx<'_>,
    pool: &str,
    limits: ViewLimits,
    now: u64,
) -> Result<PoolView, StoreError> {
    let mut view = PoolView::default();
    for r in t
        .rows(
            "SELECT t.id, t.run_id, r.flow_id, t.step_id, r.tenant, t.priority, t.leased_at \
             FROM tasks t JOIN runs r ON r.id = t.run_id WHERE t.pool = $1 \
             AND t.state = 'leased' AND t.lease_expires_at > $2 ORDER BY t.leased_at, t.id",
            &[&pool, &i(now)],
        )
        .await?
    {
        view.running.push(PoolTask {
            task: u(r.get(0)),
            run: r.get(1),
            flow: r.get(2),
            step: r.get(3),
            tenant: r.get(4),
            priority: u32n(r.get(5)),
            since_ms: u(r.get::<_, Option<i64>>(6).unwrap_or(0)),
        });
    }
    view.queued_total = t
        .row(
            "SELECT count(*) FROM tasks WHERE pool = $1 AND state = 'ready'",
            &[&pool],
        )
        .await?
        .map_or(0, |r| u(r.get(0)));
    view.bucket = t
        .row(
            "SELECT bucket_micro, bucket_at FROM pools WHERE pool = $1",
            &[&pool],
        )
        .await?
        .and_then(|r| {
            let m: Option<i64> = r.get(0);
            let a: Option<i64> = r.get(1);
            m.zip(a).map(|(m, a)| TokenBucket {
                micro_tokens: u(m),
                at_ms: u(a),
            })
        });
    let per_tenant = limits.per_tenant.max(1);
    // A loose index scan of the per-tenant ready index: the next tenant after
    // each one, at most `scan` of them, and the first `per_tenant` tasks of
    // each; the cost follows the tenants with work, not the queue's depth.
    let rows = t
        .rows(
            "WITH RECURSIVE tenants (tenant, n) AS ( \
               (SELECT tenant, 1::bigint FROM tasks WHERE pool = $1 AND state = 'ready' \
                ORDER BY tenant LIMIT 1) \
               UNION ALL \
               SELECT (SELECT t.tenant FROM tasks t WHERE t.pool = $1 AND t.state = 'ready' \
                       AND t.tenant > tenants.tenant ORDER BY t.tenant LIMIT 1), n + 1 \
               FROM tenants WHERE tenants.tenant IS NOT NULL AND n < $3) \
             SELECT x.id, x.run_id, r.flow_id, x.step_id, r.tenant, x.priority, x.ready_at, \
               x.tenant, x.rn \
             FROM tenants CROSS JOIN LATERAL ( \
               SELECT q.*, row_number() OVER (ORDER BY q.priority DESC, q.ready_at, q.id) AS rn \
               FROM (SELECT id, run_id, step_id, priority, ready_at, tenant FROM tasks \
                     WHERE pool = $1 AND state = 'ready' AND tenant = tenants.tenant \
                     ORDER BY priority DESC, ready_at, id LIMIT $2) q) x \
             JOIN runs r ON r.id = x.run_id \
             WHERE tenants.tenant IS NOT NULL \
             ORDER BY x.tenant, x.rn",
            &[
                &pool,
                &crate::conv::lim(per_tenant),
                &crate::conv::lim(limits.scan.max(1)),
            ],
        )
        .await?;
    let mut heads = Vec::new();
    let mut rest = Vec::new();
    for (read, r) in rows.iter().enumerate() {
        if read >= limits.scan {
            break;
        }
        let task = PoolTask {
            task: u(r.get(0)),
            run: r.get(1),
            flow: r.get(2),
            step: r.get(3),
            tenant: r.get(4),
            priority: u32n(r.get(5)),
            since_ms: u(r.get(6)),
        };
        let key = (u32::MAX - task.priority, task.since_ms, task.task);
        if r.get::<_, i64>(8) == 1 {
            heads.push((key, task));
        } else {
            rest.push((key, task));
        }
    }
    rest.sort_by_key(|(k, _)| *k);
    let room = limits.candidates.saturating_sub(heads.len());
    heads.extend(rest.into_iter().take(room));
    heads.sort_by_key(|(k, _)| *k);
    view.queued = heads.into_iter().map(|(_, t)| t).collect();
    Ok(view)
}

/// The task the next lease of `pool` at `now` would take, among the runs of
/// `project` when given (see `QueueStore::queue_next`); writes nothing.
pub(crate) async fn queue_next(
    t: &Tx<'_>,
    pool: Option<&str>,
    project: Option<&str>,
    now: u64,
) -> Result<Option<NextTask>, StoreError> {
    let like = project.map(|p| {
        let escaped = p
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("{escaped}-%")
    });
    let rows = t
        .rows(
            "SELECT t.id, t.run_id, coalesce(r.flow_id, ''), t.step_id, t.pool, t.priority, \
               t.attempt, CASE WHEN t.state = 'leased' THEN $1 ELSE t.ready_at END AS since, \
               t.state \
             FROM tasks t LEFT JOIN runs r ON r.id = t.run_id \
             WHERE (t.state = 'ready' OR (t.state = 'delayed' AND t.ready_at <= $1) \
                    OR (t.state = 'leased' AND t.lease_expires_at <= $1)) \
               AND ($2::text IS NULL OR t.pool = $2) \
               AND ($3::text IS NULL OR t.run_id LIKE $3) \
             ORDER BY t.priority DESC, since, t.id \
             LIMIT CASE WHEN $3::text IS NULL THEN 1 END",
            &[&i(now), &pool, &like],
        )
        .await?;
    for r in &rows {
        let run: String = r.get(1);
        if project.is_some_and(|p| weft_store_api::prefix_of(&run) != Some(p)) {
            continue;
        }
        let since = u(r.get(7));
        return Ok(Some(NextTask {
            task: u(r.get(0)),
            run,
            flow: r.get(2),
            step: r.get(3),
            pool: r.get(4),
            priority: u32n(r.get(5)),
            attempt: u32n(r.get(6)),
            ready_since_ms: since,
            lag_ms: now.saturating_sub(since),
            state: task_state(r.get(8))?,
        }));
    }
    Ok(None)
}
