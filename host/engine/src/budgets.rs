//! Budgets: a model call that could overspend its tenant's daily budget (or
//! its pool's daily limit) is refused before the adapter is called.
//!
//! Before the call, an upper bound of its cost is *reserved*. Reservations are
//! made one at a time (an async gate held across the store's reads), so
//! concurrent calls cannot together pass a budget; each takes a snapshot of what
//! is reserved *before* reading the spent totals. The charge is committed (with
//! the journaled answer) before the reservation is released, so a call released
//! between the snapshot and the read is counted in one or both, never in
//! neither: spent + reserved never under-counts. Money is whole micro-dollars.
//! (The gate is in this process's memory: the store-contract work moves the
//! check into the store so that it holds across daemons.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use weft_core::CompletionRequest;
use weft_flow::{ModelDecl, OnBudgetExceeded, ProjectConfig};
use weft_store_api::{Store, StoreError, utc_date};

/// Tokens added per message for the role and the chat template's markers.
pub const MESSAGE_OVERHEAD_TOKENS: u64 = 16;
/// Tokens added per request (the reply's primer, the template's framing).
pub const REQUEST_OVERHEAD_TOKENS: u64 = 16;
/// One UTC day in ms.
const DAY_MS: u64 = 86_400_000;

/// Why a task's model call was refused for its budget, kept until the task's
/// attempt is recorded (the step may turn the error into its own).
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// What was exceeded.
    pub exceeded: BudgetExceeded,
    /// What the tenant's config says to do.
    pub mode: OnBudgetExceeded,
}

#[derive(Default)]
struct Reserved {
    /// (UTC day, tenant) → micro-dollars reserved by calls in flight.
    tenant: HashMap<(String, String), u64>,
    /// (UTC day, pool) → micro-dollars reserved.
    pool: HashMap<(String, String), u64>,
}

/// Where pools' daily cost limits come from: pool name → US dollars per UTC
/// day, `None` for no limit.
pub type PoolLimitUsd = dyn Fn(&str) -> Option<f64> + Send + Sync;

/// The engine's budget book-keeping (in memory; the spent totals are the
/// store's).
#[derive(Default)]
pub(crate) struct Budgets {
    /// Set by [`crate::Engine::set_pool_limit_usd`].
    pool_limits: RwLock<Option<Arc<PoolLimitUsd>>>,
    reserved: Mutex<Reserved>,
    /// Held by the one reservation being decided (across its store reads).
    gate: tokio::sync::Mutex<()>,
    /// (task, lease token) → the refusal of that attempt's model call.
    refusals: Mutex<HashMap<(u64, u64), Refusal>>,
}

/// A reservation; released when dropped.
pub(crate) struct Reservation {
    budgets: Arc<Budgets>,
    day: String,
    tenant: String,
    pool: String,
    micro_usd: u64,
}

impl Reservation {
    /// The micro-dollars reserved.
    pub fn micro_usd(&self) -> u64 {
        self.micro_usd
    }

    /// The UTC day it was made for.
    pub fn day(&self) -> &str {
        &self.day
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut guard = self
            .budgets
            .reserved
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let r = &mut *guard;
        for (map, who) in [(&mut r.tenant, &self.tenant), (&mut r.pool, &self.pool)] {
            let key = (self.day.clone(), who.clone());
            if let Some(v) = map.get_mut(&key) {
                *v = v.saturating_sub(self.micro_usd);
                if *v == 0 {
                    map.remove(&key);
                }
            }
        }
    }
}

/// What a call is checked against.
pub(crate) struct CallScope<'a> {
    pub tenant: &'a str,
    pub pool: &'a str,
    /// The tenant's daily budget in micro-dollars, if any.
    pub tenant_budget: Option<u64>,
    /// The pool's daily limit in micro-dollars, if any.
    pub pool_limit: Option<u64>,
}

/// What a refused model call would have overspent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// The tenant's `budget_usd_daily`.
    Tenant,
    /// The pool's daily cost limit.
    Pool,
}

/// A model call refused before it was made: the tenant's (or pool's) spent and
/// reserved micro-dollars for the UTC day, plus the most the call could cost,
/// are above its daily limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "budget exceeded: {kind} {name} has spent {spent} (+{reserved} reserved) of {limit_text}{limit} today (UTC {day}); this call could cost up to {bound}",
    kind = match self.limited { Limited::Tenant => "tenant", Limited::Pool => "pool" },
    limit_text = match self.limited { Limited::Tenant => "", Limited::Pool => "its daily limit " },
    spent = usd(self.spent_micro_usd),
    reserved = usd(self.reserved_micro_usd),
    limit = usd(self.limit_micro_usd),
    bound = usd(self.bound_micro_usd),
)]
pub struct BudgetExceeded {
    /// Whose limit it is.
    pub limited: Limited,
    /// The tenant's or the pool's name.
    pub name: String,
    /// The UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// Committed charges of the day.
    pub spent_micro_usd: u64,
    /// Reserved by calls in flight.
    pub reserved_micro_usd: u64,
    /// The daily limit.
    pub limit_micro_usd: u64,
    /// The most the refused call could have cost.
    pub bound_micro_usd: u64,
}

/// Why [`Budgets::reserve`] refused.
pub(crate) enum ReserveError {
    /// The call could overspend.
    Exceeded(BudgetExceeded),
    /// The spent totals could not be read.
    Store(StoreError),
}

impl Budgets {
    /// Reserves `bound` micro-dollars for a call at `now` if the tenant's and
    /// the pool's spent + reserved + `bound` stay within their limits.
    pub async fn reserve(
        self: &Arc<Self>,
        store: &dyn Store,
        scope: &CallScope<'_>,
        bound: u64,
        now: u64,
    ) -> Result<Reservation, ReserveError> {
        let day = utc_date(now);
        let tkey = (day.clone(), scope.tenant.to_owned());
        let pkey = (day.clone(), scope.pool.to_owned());
        let _gate = self.gate.lock().await;
        // Reserved amounts before spent: see the module docs.
        let (tenant_reserved, pool_reserved) = {
            let r = self.reserved.lock().unwrap_or_else(PoisonError::into_inner);
            (
                r.tenant.get(&tkey).copied().unwrap_or(0),
                r.pool.get(&pkey).copied().unwrap_or(0),
            )
        };
        if let Some(budget) = scope.tenant_budget {
            let spent = store
                .tenant_day_cost(&day, scope.tenant)
                .await
                .map_err(ReserveError::Store)?;
            let reserved = tenant_reserved;
            if spent.saturating_add(reserved).saturating_add(bound) > budget {
                return Err(ReserveError::Exceeded(BudgetExceeded {
                    limited: Limited::Tenant,
                    name: scope.tenant.to_owned(),
                    day,
                    spent_micro_usd: spent,
                    reserved_micro_usd: reserved,
                    limit_micro_usd: budget,
                    bound_micro_usd: bound,
                }));
            }
        }
        if let Some(limit) = scope.pool_limit {
            let spent = store
                .pool_day_cost(&day, scope.pool)
                .await
                .map_err(ReserveError::Store)?;
            let reserved = pool_reserved;
            if spent.saturating_add(reserved).saturating_add(bound) > limit {
                return Err(ReserveError::Exceeded(BudgetExceeded {
                    limited: Limited::Pool,
                    name: scope.pool.to_owned(),
                    day,
                    spent_micro_usd: spent,
                    reserved_micro_usd: reserved,
                    limit_micro_usd: limit,
                    bound_micro_usd: bound,
                }));
            }
        }
        let mut r = self.reserved.lock().unwrap_or_else(PoisonError::into_inner);
        *r.tenant.entry(tkey).or_default() += bound;
        *r.pool.entry(pkey).or_default() += bound;
        Ok(Reservation {
            budgets: Arc::clone(self),
            day,
            tenant: scope.tenant.to_owned(),
            pool: scope.pool.to_owned(),
            micro_usd: bound,
        })
    }

    /// Replaces the source of pools' daily cost limits.
    pub fn set_pool_limits(&self, limits: Arc<PoolLimitUsd>) {
        *self
            .pool_limits
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(limits);
    }

    /// The daily cost limit of `pool` in micro-dollars, if it has one.
    pub fn pool_limit_micro(&self, pool: &str) -> Option<u64> {
        let limits = self
            .pool_limits
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        // A negative or NaN limit (config validation should refuse it) is 0.
        limits(pool).map(|usd| (usd * 1_000_000.0).round() as u64)
    }

    /// Remembers that a call of `task`'s attempt under lease `token` was
    /// refused.
    pub fn refused(&self, task: u64, token: u64, refusal: Refusal) {
        let mut refusals = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
        // An earlier attempt's refusal that was never taken (a remote worker
        // that died before reporting) is stale now.
        refusals.retain(|&(t, _), _| t != task);
        refusals.insert((task, token), refusal);
    }

    /// The refusal of `task`'s attempt under lease `token`, forgotten as it
    /// is taken.
    pub fn take_refusal(&self, task: u64, token: u64) -> Option<Refusal> {
        self.refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(task, token))
    }
}

/// Micro-dollars as `$1.234567`, trailing zeros after the cents dropped.
pub fn usd(micro: u64) -> String {
    let whole = micro / 1_000_000;
    let frac = format!("{:06}", micro % 1_000_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 {
        format!("{frac:0<2}")
    } else {
        frac.to_owned()
    };
    format!("${whole}.{frac}")
}

/// A price in dollars per million tokens as micro-dollars per million tokens
/// (prices finer than a millionth of a dollar per million tokens are rounded).
fn price_micro(per_million_usd: f64) -> u128 {
    // Prices are validated as >= 0; `as` saturates anything absurd.
    (per_million_usd * 1_000_000.0).round() as u128
}

/// The cost of `input` + `output` tokens of `model` in micro-dollars, rounded
/// up; 0 for a model without a price.
pub(crate) fn token_cost(model: &ModelDecl, input: u64, output: u64) -> u64 {
    let Some(price) = model.price else { return 0 };
    let pico = u128::from(input) * price_micro(price.input_per_million_usd)
        + u128::from(output) * price_micro(price.output_per_million_usd);
    u64::try_from(pico.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// The most output tokens a call may produce: the request's `max-tokens`, else
/// the model's `config.max_tokens`.
pub(crate) fn output_bound(model: &ModelDecl, req: &CompletionRequest) -> Option<u64> {
    req.max_tokens
        .map(u64::from)
        .or_else(|| model.config.get("max_tokens").and_then(|v| v.as_u64()))
}

/// The most input tokens a request can be: its UTF-8 bytes plus overheads.
/// This assumes a byte-level tokenizer (BPE over bytes, as every current
/// provider uses): it never makes more tokens than there are bytes.
pub(crate) fn input_bound(req: &CompletionRequest) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|m| (m.role.len() + m.content.len()) as u64 + MESSAGE_OVERHEAD_TOKENS)
        .sum();
    let extra = req.extra.as_ref().map_or(0, |e| e.len() as u64);
    messages + extra + REQUEST_OVERHEAD_TOKENS
}

/// 00:00 UTC of the day after `now`.
pub(crate) fn next_utc_day(now: u64) -> u64 {
    (now / DAY_MS + 1) * DAY_MS
}

/// The tenant's budget in micro-dollars and what to do when it is exceeded.
pub(crate) fn tenant_budget(
    project: &ProjectConfig,
    tenant: &str,
) -> (Option<u64>, OnBudgetExceeded) {
    project
        .tenants
        .get(tenant)
        .map_or((None, OnBudgetExceeded::Fail), |t| {
            (t.budget_micro_usd, t.on_budget_exceeded)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_print_with_cents_at_least() {
        assert_eq!(usd(4_980_000), "$4.98");
        assert_eq!(usd(10_000), "$0.01");
        assert_eq!(usd(5_000_000), "$5.00");
        assert_eq!(usd(1_234_567), "$1.234567");
    }

    #[test]
    fn a_refusal_says_whose_limit_and_by_how_much() {
        let mut e = BudgetExceeded {
            limited: Limited::Tenant,
            name: "acme".into(),
            day: "2026-11-22".into(),
            spent_micro_usd: 4_980_000,
            reserved_micro_usd: 10_000,
            limit_micro_usd: 5_000_000,
            bound_micro_usd: 30_000,
        };
        assert_eq!(
            e.to_string(),
            "budget exceeded: tenant acme has spent $4.98 (+$0.01 reserved) of $5.00 today (UTC 2026-11-22); this call could cost up to $0.03"
        );
        e.limited = Limited::Pool;
        e.name = "gpu".into();
        assert!(
            e.to_string()
                .starts_with("budget exceeded: pool gpu has spent $4.98 (+$0.01 reserved) of its daily limit $5.00 today"),
            "{e}"
        );
    }

    #[test]
    fn the_next_day_starts_at_midnight_utc() {
        assert_eq!(next_utc_day(0), DAY_MS);
        assert_eq!(next_utc_day(DAY_MS - 1), DAY_MS);
        assert_eq!(next_utc_day(DAY_MS), 2 * DAY_MS);
    }
}
