//! What the engine offers pools and operators about spend: today's totals of a
//! pool or a tenant, and the hook through which pools' daily cost limits reach
//! the budget reservation (docs/operations.md, Budgets and costs).

use std::sync::Arc;

use weft_core::Money;
use weft_store_api::utc_date;

use crate::charges::ChargeTotal;
use crate::engine::Engine;
use crate::error::EngineError;

impl Engine {
    /// What was charged today (the UTC day of the engine's clock) for model
    /// calls of tasks in `pool`. Calls in flight are not counted until their
    /// answer is journaled.
    pub async fn pool_spent_today(&self, pool: &str) -> Result<Money, EngineError> {
        let day = utc_date(self.inner.now());
        let micros = self.inner.store.pool_day_cost(&day, pool).await?;
        Ok(Money::from_micros(micros))
    }

    /// What was charged today (UTC) for model calls of `tenant`'s runs.
    pub async fn tenant_spent_today(&self, tenant: &str) -> Result<Money, EngineError> {
        let day = utc_date(self.inner.now());
        let micros = self.inner.store.tenant_day_cost(&day, tenant).await?;
        Ok(Money::from_micros(micros))
    }

    /// Sets where pools' daily cost limits come from: `limit(pool)` is the
    /// pool's limit per UTC day, or `None` for none. It is asked
    /// before every model call, so a limit that changes (a reloaded
    /// `weft.yaml`) applies to the next call. A model call that could take the
    /// pool's spent + reserved over its limit is refused before it is made,
    /// exactly as for a tenant's `budget_usd_daily` (the run's tenant's
    /// `on_budget_exceeded` decides what follows).
    pub fn set_pool_limit(&self, limit: impl Fn(&str) -> Option<Money> + Send + Sync + 'static) {
        self.inner.budgets.set_pool_limits(Arc::new(limit));
    }

    /// The model-call charges this engine committed since `open`, per
    /// (tenant, pool, model), sorted: in memory, no store read. Charges that
    /// other processes on the same store committed are not in it.
    pub fn charges(&self) -> Vec<ChargeTotal> {
        self.inner.charges.snapshot()
    }
}
