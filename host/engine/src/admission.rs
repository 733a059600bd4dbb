//! Admission: the one place that decides which ready task of which pool is
//! leased next. In-process workers, a worker's next task after a completion,
//! and remote workers all come through [`admit`].
//!
//! Per pool, in this order: a free slot (`max_concurrent` minus its live
//! leases, read from the store, so it is right after a restart and after a
//! lease runs out), a token in its rate-limit bucket (kept by the store), its
//! daily cost limit not reached. Among the pools that pass, the one whose best
//! task comes first (priority, then ready time) is served: its policy component
//! picks among a bounded list of candidates, and the host leases the first id
//! it names that is a candidate. A policy that fails, traps, times out or names
//! nothing valid is logged and counted, and priority order decides instead.
//!
//! The store makes the final check: the lease is conditional
//! ([`weft_store_api::QueueStore::lease_task`] with the pool's [`PoolCap`]), so
//! a pool's cap and rate limit hold across processes and daemons. The lock
//! here only keeps this process's workers from racing one another for the same
//! head task (an optimisation: a lost race costs a retry, never a broken cap).
//! It is held while choosing, not while the lease commits: the chosen task is
//! *claimed* (hidden from this process's other admissions and counted as
//! running in its pool) until its lease resolves, so the leases of many
//! workers go into one group commit, and completions, which take no lock,
//! join them.

use std::sync::Arc;
use std::time::Duration;
use weft_store_api::WorkerSite;

use weft_core::{Candidate, Money, PoolState, TenantLoad};
use weft_flow::{PoolDecl, RateLimit};
use weft_runtime::{CallContext, CallLimits};
use weft_store_api::{
    Lease, LeaseTry, PoolCap, PoolView, RateCap, StoreError, TokenBucket, ViewLimits,
};

use crate::shared::Inner;
use crate::swaps::{PRIORITY_ORDER, PolicyChoice};

/// How many queued tasks a policy is shown at most.
pub const MAX_CANDIDATES: usize = 32;
/// At most this many candidates of one tenant, so that a tenant queued behind
/// another's flood is among them.
pub const CANDIDATES_PER_TENANT: usize = 8;
/// How many queue entries of a pool admission reads at most: a bound on the
/// tenants looked at (each tenant's head and a few more are read from the
/// per-tenant index), never reached by the depth of one tenant's queue.
pub const SCAN_LIMIT: usize = 4096;
/// How long a pool policy may think.
const SELECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The view limits admission uses.
pub(crate) const LIMITS: ViewLimits = ViewLimits {
    candidates: MAX_CANDIDATES,
    per_tenant: CANDIDATES_PER_TENANT,
    scan: SCAN_LIMIT,
};

/// What an admission found.
#[derive(Debug)]
pub(crate) enum Admitted {
    /// This task is leased to the asker.
    Lease(Lease),
    /// Nothing can be admitted now; look again at this time (ms) at the
    /// latest, if given (a rate-limit token comes then).
    Wait(Option<u64>),
}

/// Who asks.
pub(crate) struct Ask<'a> {
    pub owner: &'a str,
    pub pools: Option<&'a [String]>,
    pub lease_ms: u64,
    /// Where the worker runs (a remote worker's lease is committed durably).
    pub site: WorkerSite,
}

/// The store's rate cap for `pool`'s rate limit.
pub(crate) fn rate_cap(pool: &PoolDecl) -> Option<RateCap> {
    pool.rate_limit.map(|r: RateLimit| RateCap {
        per_minute: r.per_minute,
        burst: r.burst,
    })
}

/// What the store checks when it leases a task of `pool`.
pub(crate) fn pool_cap(pool: &PoolDecl) -> PoolCap {
    PoolCap {
        max_concurrent: pool.max_concurrent,
        rate: rate_cap(pool),
    }
}

/// The pool's bucket as `view` shows it, refilled to `now` (a pool with no
/// bucket yet has a full one); `None` without a rate limit.
pub(crate) fn bucket_now(pool: &PoolDecl, view: &PoolView, now: u64) -> Option<TokenBucket> {
    let rate = rate_cap(pool)?;
    Some(match view.bucket {
        Some(b) => b.refilled(rate, now),
        None => TokenBucket::full(rate, now),
    })
}

/// The declared pool `name`, or for a pool `weft.yaml` does not declare (a
/// task queued before its pool was removed) the implied default's settings.
pub(crate) fn pool_decl(inner: &Inner, name: &str) -> PoolDecl {
    match inner.project.pool(name) {
        Some(p) => p.clone(),
        None => PoolDecl {
            name: name.to_owned(),
            ..PoolDecl::implied_default(&inner.project)
        },
    }
}

/// How much `pool` spent today (UTC day of the engine's clock), for
/// `cost_limit_daily_usd`: the charges the store holds. Calls in flight are
/// not counted here; the budget reservation before each model call counts
/// them (docs/operations.md, Budgets and costs). A failed read is an error,
/// never a spend of zero: admission then fails like any store read, and the
/// worker tries again.
pub(crate) async fn pool_spent_today(inner: &Inner, pool: &str) -> Result<Money, StoreError> {
    let day = weft_store_api::utc_date(inner.now());
    Ok(Money::from_micros(
        inner.store.pool_day_cost(&day, pool).await?,
    ))
}

/// Admits the best task for `ask` (see the module docs).
pub(crate) async fn admit(inner: &Arc<Inner>, ask: &Ask<'_>) -> Result<Admitted, StoreError> {
    // A chosen task may be gone by the time it is leased if another process
    // took it (or is taking it), or something outside admission did (a
    // cancel); try again without it, so that daemons choosing the same head
    // of a queue spread over the next tasks instead of waiting.
    let mut passed: Vec<u64> = Vec::new();
    for _ in 0..4 {
        let guard = inner.claims.lock().await;
        let (task, admitted_by, pool) = match choose_next(inner, ask, &passed).await? {
            Chosen::Task(task, admitted_by, pool) => (task, admitted_by, pool),
            Chosen::Wait(wake) => return Ok(Admitted::Wait(wake)),
        };
        let _claim = inner.claims.claim(task, &pool.name);
        drop(guard);
        let now = inner.now();
        match inner
            .store
            .lease_task(
                ask.owner,
                task,
                &admitted_by,
                ask.lease_ms,
                ask.site,
                pool_cap(&pool),
                now,
            )
            .await?
        {
            LeaseTry::Leased(lease) => {
                inner.wakeups.lease_granted(lease.expires_at);
                return Ok(Admitted::Lease(lease));
            }
            // Another process took the task first: look again without it.
            LeaseTry::Gone => passed.push(task),
            // Another process holds the pool's last slot: wait for a slot to
            // be freed (looking again at once would only find it full again,
            // and every idle worker doing so burns the CPU the others need).
            LeaseTry::Full => return Ok(Admitted::Wait(None)),
            LeaseTry::RateLimited { next_token_at } => {
                return Ok(Admitted::Wait(Some(next_token_at)));
            }
        }
    }
    Ok(Admitted::Wait(None))
}

/// What [`choose_next`] found.
enum Chosen {
    /// Lease this task (chosen by this component) of this pool.
    Task(u64, String, Box<PoolDecl>),
    /// Nothing to admit now; look again at this time (ms) at the latest.
    Wait(Option<u64>),
}

/// The best task for `ask` among the tasks this process has not claimed and
/// this admission has not `passed` (the admission lock is held).
async fn choose_next(
    inner: &Arc<Inner>,
    ask: &Ask<'_>,
    passed: &[u64],
) -> Result<Chosen, StoreError> {
    let now = inner.now();
    if inner.store.next_due().await?.is_some_and(|due| due <= now) {
        let _handed_back = inner.store.promote_and_expire(now).await?;
    }
    let mut wake: Option<u64> = None;
    let mut best: Option<((u32, u64, u64), PoolDecl, PoolView)> = None;
    for name in inner.store.ready_pools().await? {
        if ask.pools.is_some_and(|p| !p.contains(&name)) {
            continue;
        }
        let pool = pool_decl(inner, &name);
        let view = inner.store.pool_view(&name, LIMITS, now).await?;
        let (mut view, unseen_claims) = inner.claims.unclaimed(&name, view);
        view.queued.retain(|t| !passed.contains(&t.task));
        let Some(head) = view.queued.first() else {
            continue;
        };
        if view.running.len() + unseen_claims >= pool.max_concurrent as usize {
            continue;
        }
        if let (Some(bucket), Some(rate)) = (bucket_now(&pool, &view, now), rate_cap(&pool))
            && !bucket.has_token()
        {
            let at = bucket.next_token_at(rate);
            wake = Some(wake.map_or(at, |w| w.min(at)));
            continue;
        }
        if let Some(limit) = pool.cost_limit_daily_usd
            && pool_spent_today(inner, &name).await? >= limit
        {
            continue;
        }
        let order = (u32::MAX - head.priority, head.since_ms, head.task);
        if best.as_ref().is_none_or(|(o, _, _)| order < *o) {
            best = Some((order, pool, view));
        }
    }
    let Some((_, pool, view)) = best else {
        return Ok(Chosen::Wait(wake));
    };
    let (task, admitted_by) = choose(inner, &pool, &view, now).await;
    Ok(Chosen::Task(task, admitted_by, Box::new(pool)))
}

/// The task the pool's policy picks among `view.queued` (not empty), and the
/// sha256 of the component that picked it.
async fn choose(inner: &Arc<Inner>, pool: &PoolDecl, view: &PoolView, now: u64) -> (u64, String) {
    let fallback = view.queued.first().map_or(0, |t| t.task);
    let Some(PolicyChoice { plugin, config, .. }) =
        inner
            .swaps
            .policy_for(&inner.project, &inner.catalog(), pool)
    else {
        return (fallback, PRIORITY_ORDER.to_owned());
    };
    let active = u32::try_from(view.running.len()).unwrap_or(u32::MAX);
    let state = PoolState {
        pool: pool.name.clone(),
        active,
        max_concurrent: pool.max_concurrent,
        free_slots: pool.max_concurrent.saturating_sub(active).min(1),
        now_ms: now,
        active_by_tenant: view
            .active_by_tenant()
            .into_iter()
            .map(|(tenant, active)| TenantLoad { tenant, active })
            .collect(),
    };
    let candidates: Vec<Candidate> = view
        .queued
        .iter()
        .map(|t| Candidate {
            task_id: t.task.to_string(),
            run_id: t.run.clone(),
            flow_id: t.flow.clone(),
            tenant: t.tenant.clone(),
            priority: i32::try_from(t.priority).unwrap_or(i32::MAX),
            ready_at_ms: t.since_ms,
        })
        .collect();
    let ctx = CallContext::new(CallLimits {
        timeout: SELECT_TIMEOUT,
        ..CallLimits::default()
    });
    let config = config.to_string();
    match plugin.select(&ctx, &config, &state, &candidates).await {
        Ok(ids) => {
            let chosen = ids
                .iter()
                .find_map(|id| view.queued.iter().find(|t| t.task.to_string() == *id));
            match chosen {
                Some(t) => return (t.task, plugin.sha256().to_owned()),
                None => tracing::warn!(
                    pool = %pool.name,
                    "pool policy `{}` named no candidate ({ids:?}); priority order decides",
                    plugin.name()
                ),
            }
        }
        Err(e) => tracing::warn!(
            pool = %pool.name,
            "pool policy `{}` failed: {e}; priority order decides",
            plugin.name()
        ),
    }
    inner.claims.policy_failed();
    (fallback, PRIORITY_ORDER.to_owned())
}
