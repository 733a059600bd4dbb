//! Budgets: a model call that could overspend its tenant's daily budget (or
//! its pool's daily limit) is refused before the adapter is called.
//!
//! Before the call, an upper bound of its cost is *reserved* in the store
//! ([`weft_store_api::CostStore::reserve_budget`]): "reserve if spent +
//! reserved + this ≤ limit", in one transaction, so concurrent calls — in this
//! process or in other daemons on the same store — cannot together pass a
//! budget. The charge is committed with the journaled answer and releases the
//! reservation in that same transaction, so spent + reserved never
//! under-counts; a call that fails releases its reservation, and a reservation
//! of a process that died lapses by itself at its expiry. Money is
//! [`Money`], whole micro-dollars.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use weft_core::{CompletionRequest, Money};
use weft_flow::{ModelDecl, OnBudgetExceeded, ProjectConfig};
pub use weft_store_api::Limited;
use weft_store_api::{BudgetAsk, BudgetReply, SharedStore, StoreError, utc_date};

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

/// Where pools' daily cost limits come from: pool name → US dollars per UTC
/// day, `None` for no limit.
pub type PoolLimit = dyn Fn(&str) -> Option<Money> + Send + Sync;

/// The engine's budget book-keeping: where pool limits come from, and the
/// refusals not yet recorded (reservations and spent totals are the store's).
#[derive(Default)]
pub(crate) struct Budgets {
    /// Set by [`crate::Engine::set_pool_limit`].
    pool_limits: RwLock<Option<Arc<PoolLimit>>>,
    /// (task, lease token) → the refusal of that attempt's model call.
    refusals: Mutex<HashMap<(u64, u64), Refusal>>,
}

/// How long after a call's timeout its reservation lapses by itself, if
/// neither its charge nor its release reached the store.
const RESERVATION_GRACE: Duration = Duration::from_secs(60);

/// A reservation held in the store; released when dropped unless its charge
/// took it over ([`Reservation::charged`]).
pub(crate) struct Reservation {
    store: SharedStore,
    id: Option<u64>,
    /// When it was made: the release passes it as its `now` (the store then
    /// lapses only reservations that had expired by then).
    reserved_at: u64,
    day: String,
    amount: Money,
}

impl Reservation {
    /// The amount reserved.
    pub fn amount(&self) -> Money {
        self.amount
    }

    /// The UTC day it was made for.
    pub fn day(&self) -> &str {
        &self.day
    }

    /// The reservation's id, for the charge that releases it in its own
    /// transaction; after this, dropping the reservation releases nothing.
    pub fn charged(&mut self) -> Option<u64> {
        self.id.take()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        // A release that cannot run (no runtime, the store failing) leaves the
        // reservation to lapse at its expiry.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let store = Arc::clone(&self.store);
            let reserved_at = self.reserved_at;
            handle.spawn(async move {
                if let Err(e) = store.release_budget(id, reserved_at).await {
                    tracing::warn!(
                        reservation = id,
                        "releasing a budget reservation failed: {e}"
                    );
                }
            });
        }
    }
}

/// What a call is checked against.
pub(crate) struct CallScope<'a> {
    pub tenant: &'a str,
    pub pool: &'a str,
    /// The tenant's daily budget, if any.
    pub tenant_budget: Option<Money>,
    /// The pool's daily limit, if any.
    pub pool_limit: Option<Money>,
}

/// A model call refused before it was made: the tenant's (or pool's) spent and
/// reserved money for the UTC day, plus the most the call could cost, are
/// above its daily limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "budget exceeded: {kind} {name} has spent {spent} (+{reserved} reserved) of {limit_text}{limit} today (UTC {day}); this call could cost up to {bound}",
    kind = match self.limited { Limited::Tenant => "tenant", Limited::Pool => "pool" },
    limit_text = match self.limited { Limited::Tenant => "", Limited::Pool => "its daily limit " },
)]
pub struct BudgetExceeded {
    /// Whose limit it is.
    pub limited: Limited,
    /// The tenant's or the pool's name.
    pub name: String,
    /// The UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// Committed charges of the day.
    pub spent: Money,
    /// Reserved by calls in flight.
    pub reserved: Money,
    /// The daily limit.
    pub limit: Money,
    /// The most the refused call could have cost.
    pub bound: Money,
}

/// Why [`Budgets::reserve`] refused.
pub(crate) enum ReserveError {
    /// The call could overspend.
    Exceeded(BudgetExceeded),
    /// The spent totals could not be read.
    Store(StoreError),
}

impl Budgets {
    /// Reserves `bound` in the store for a call at `now` that
    /// may run for `timeout`, if the tenant's and the pool's spent + reserved
    /// + `bound` stay within their limits.
    pub async fn reserve(
        &self,
        store: &SharedStore,
        scope: &CallScope<'_>,
        bound: Money,
        timeout: Duration,
        now: u64,
    ) -> Result<Reservation, ReserveError> {
        let day = utc_date(now);
        let lapse = timeout.saturating_add(RESERVATION_GRACE).as_millis();
        let ask = BudgetAsk {
            day: day.clone(),
            tenant: scope.tenant.to_owned(),
            pool: scope.pool.to_owned(),
            micro_usd: bound.micros(),
            tenant_limit: scope.tenant_budget.map(Money::micros),
            pool_limit: scope.pool_limit.map(Money::micros),
            expires_at: now.saturating_add(u64::try_from(lapse).unwrap_or(u64::MAX)),
        };
        match store
            .reserve_budget(ask, now)
            .await
            .map_err(ReserveError::Store)?
        {
            BudgetReply::Reserved { id } => Ok(Reservation {
                store: Arc::clone(store),
                id: Some(id),
                reserved_at: now,
                day,
                amount: bound,
            }),
            BudgetReply::Exceeded {
                limited,
                spent,
                reserved,
                limit,
            } => Err(ReserveError::Exceeded(BudgetExceeded {
                limited,
                name: match limited {
                    Limited::Tenant => scope.tenant.to_owned(),
                    Limited::Pool => scope.pool.to_owned(),
                },
                day,
                spent: Money::from_micros(spent),
                reserved: Money::from_micros(reserved),
                limit: Money::from_micros(limit),
                bound,
            })),
        }
    }

    /// Replaces the source of pools' daily cost limits.
    pub fn set_pool_limits(&self, limits: Arc<PoolLimit>) {
        *self
            .pool_limits
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(limits);
    }

    /// The daily cost limit of `pool` set through
    /// [`crate::Engine::set_pool_limit`], if it has one.
    pub fn pool_limit(&self, pool: &str) -> Option<Money> {
        let limits = self
            .pool_limits
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        limits(pool)
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

/// The cost of `input` + `output` tokens of `model`, rounded up to a whole
/// micro-dollar; nothing for a model without a price.
pub(crate) fn token_cost(model: &ModelDecl, input: u64, output: u64) -> Money {
    let Some(price) = model.price else {
        return Money::ZERO;
    };
    // Tokens x micro-dollars per million tokens: millionths of a micro-dollar.
    let per_million = |tokens: u64, price: Money| u128::from(tokens) * u128::from(price.micros());
    let pico = per_million(input, price.input_per_million)
        .saturating_add(per_million(output, price.output_per_million));
    Money::from_micros(u64::try_from(pico.div_ceil(1_000_000)).unwrap_or(u64::MAX))
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

/// The tenant's daily budget and what to do when it is exceeded.
pub(crate) fn tenant_budget(
    project: &ProjectConfig,
    tenant: &str,
) -> (Option<Money>, OnBudgetExceeded) {
    project
        .tenants
        .get(tenant)
        .map_or((None, OnBudgetExceeded::Fail), |t| {
            (t.budget_daily, t.on_budget_exceeded)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_whose_limit_and_by_how_much() {
        let mut e = BudgetExceeded {
            limited: Limited::Tenant,
            name: "acme".into(),
            day: "2026-11-22".into(),
            spent: Money::from_micros(4_980_000),
            reserved: Money::from_micros(10_000),
            limit: Money::from_micros(5_000_000),
            bound: Money::from_micros(30_000),
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
