//! Pools seen from outside the engine: what `weft pools` and the metrics
//! show, the `on_exhausted: fail` check at submit, `priority_field`, and
//! [`Engine::admit`] for callers that act as a worker.

use weft_store_api::WorkerSite;

use serde::{Deserialize, Serialize};
use weft_core::Money;
use weft_flow::OnExhausted;
use weft_store_api::{Lease, NewRun, NewTask, PoolTask, StrictPool, ViewLimits};

use crate::admission::{self, Admitted, Ask, pool_decl, pool_spent_today};
use crate::engine::Engine;
use crate::error::EngineError;

/// A pool now, as `weft pools` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolStatus {
    /// Its name.
    pub name: String,
    /// Tasks running (holding a live lease).
    pub active: u64,
    /// Its `max_concurrent`.
    pub max_concurrent: u32,
    /// Tasks waiting in its queue.
    pub queued: u64,
    /// Dollars spent today (UTC) by its tasks.
    #[serde(with = "weft_core::money_as_usd")]
    pub cost_today_usd: Money,
    /// Its `cost_limit_daily_usd`.
    #[serde(with = "weft_core::money_as_usd_opt")]
    pub cost_limit_daily_usd: Option<Money>,
    /// Tokens in its rate-limit bucket now (`None`: no rate limit).
    pub rate_tokens: Option<f64>,
    /// Its rate limit: tasks per minute and burst.
    pub rate_limit: Option<(f64, u32)>,
    /// `queue` or `fail`.
    pub on_exhausted: String,
    /// The name of the policy that decides now (`policy_sha256`'s): the one a
    /// swap gave it, or the weft.yaml plugin with that component, or the
    /// `policy:` weft.yaml names when nothing was swapped in. `None`: priority
    /// order, or a swapped-in component without a name.
    pub policy: Option<String>,
    /// The `policy:` weft.yaml names (`None`: priority order).
    #[serde(default)]
    pub configured_policy: Option<String>,
    /// The sha256 of the component that decides now (a swapped-in one wins).
    pub policy_sha256: String,
    /// Whether that component was swapped in at run time.
    pub policy_swapped: bool,
    /// The running tasks, oldest first (`since_ms`: when leased).
    pub running: Vec<PoolTask>,
    /// The first waiting tasks in lease order (`since_ms`: ready since).
    pub waiting: Vec<PoolTask>,
}

/// How many waiting tasks [`Engine::pools_status`] lists per pool.
const LISTED: usize = 50;

impl Engine {
    /// Every declared pool (and any other that holds tasks), by name.
    pub async fn pools_status(&self) -> Result<Vec<PoolStatus>, EngineError> {
        let inner = &self.inner;
        let now = inner.now();
        let mut names: Vec<String> = inner.project.pools.keys().cloned().collect();
        for p in inner.store.busy_pools(now).await? {
            if !names.contains(&p) {
                names.push(p);
            }
        }
        names.sort();
        let limits = ViewLimits {
            candidates: LISTED,
            per_tenant: LISTED,
            scan: usize::MAX,
        };
        let catalog = inner.catalog();
        let mut out = Vec::new();
        for name in names {
            let pool = pool_decl(inner, &name);
            let view = inner.store.pool_view(&name, limits, now).await?;
            let choice = inner.swaps.policy_for(&inner.project, &catalog, &pool);
            let policy = choice.as_ref().and_then(|c| c.name.clone());
            out.push(PoolStatus {
                active: view.running.len() as u64,
                max_concurrent: pool.max_concurrent,
                queued: view.queued_total,
                cost_today_usd: pool_spent_today(inner, &name).await?,
                cost_limit_daily_usd: pool.cost_limit_daily_usd,
                rate_tokens: admission::bucket_now(&pool, &view, now).map(|b| b.tokens()),
                rate_limit: pool.rate_limit.map(|r| (r.per_minute, r.burst)),
                on_exhausted: match pool.on_exhausted {
                    OnExhausted::Queue => "queue".into(),
                    OnExhausted::Fail => "fail".into(),
                },
                policy_sha256: inner.swaps.policy_sha(&inner.project, &catalog, &pool),
                policy_swapped: choice.as_ref().is_some_and(|c| {
                    pool.policy
                        .as_deref()
                        .and_then(|n| {
                            inner
                                .catalog()
                                .plugin(n)
                                .map(|p| p.sha256() != c.plugin.sha256())
                        })
                        .unwrap_or(true)
                }),
                policy,
                configured_policy: pool.policy,
                running: view.running,
                waiting: view.queued,
                name,
            });
        }
        Ok(out)
    }

    /// How many pool policy calls failed (trap, timeout, no valid id) since
    /// `open`; priority order decided those admissions.
    pub fn policy_failures(&self) -> u64 {
        self.inner.claims.policy_failures()
    }

    /// Admits one task for `owner` through the pools' limits and policies, as
    /// a worker does, and leases it (a volatile commit, as for an in-process
    /// worker). `None` when nothing can be admitted now. Tests and embedders
    /// that act as a worker use it with [`Engine::run_task`].
    pub async fn admit(&self, owner: &str, lease_ms: u64) -> Result<Option<Lease>, EngineError> {
        let ask = Ask {
            owner,
            pools: None,
            lease_ms,
            site: WorkerSite::InProcess,
        };
        match admission::admit(&self.inner, &ask).await? {
            Admitted::Lease(lease) => Ok(Some(lease)),
            Admitted::Wait(_) => Ok(None),
        }
    }

    /// The priority of `new` from its input's field named by the
    /// `priority_field` of its first task's pool (0 when none, or when the field
    /// is not a whole number ≥ 0).
    pub(crate) fn priority_from_input(&self, new: &NewRun) -> u32 {
        let Some(task) = new.initial_tasks.first() else {
            return 0;
        };
        let Some(field) = self
            .inner
            .project
            .pool(&task.pool)
            .and_then(|p| p.priority_field.as_deref())
        else {
            return 0;
        };
        new.input
            .get(field)
            .and_then(serde_json::Value::as_u64)
            .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX))
    }

    /// The pools with `on_exhausted: fail` that `tasks` enter, for the store
    /// to check in the submit's own transaction
    /// ([`weft_store_api::RunStore::submit_run_capped`]).
    pub(crate) fn strict_pools(&self, tasks: &[NewTask]) -> Vec<StrictPool> {
        let inner = &self.inner;
        let mut strict: Vec<StrictPool> = Vec::new();
        for task in tasks {
            let Some(pool) = inner.project.pool(&task.pool) else {
                continue;
            };
            if pool.on_exhausted == OnExhausted::Fail && !strict.iter().any(|s| s.pool == task.pool)
            {
                strict.push(StrictPool {
                    pool: task.pool.clone(),
                    max_concurrent: pool_decl(inner, &task.pool).max_concurrent,
                });
            }
        }
        strict
    }
}
