//! [`CostStore`]: what model calls cost, per run, tenant, pool and day.

use serde_json::Value;

use crate::admission::{BudgetAsk, BudgetReply};
use crate::error::StoreError;
use crate::views::{Charge, CostRow};

/// Money is whole micro-dollars (`u64`), never floats.
#[async_trait::async_trait]
pub trait CostStore: Send + Sync {
    /// Journals model call `index` of `step` with its answer and charges
    /// `charge` in the same transaction (run, tenant-day, pool-day and cost
    /// row totals, a `model-call-charged` ledger event), so that a journal
    /// replay — the answer is already there — is never charged again; the
    /// reservation `charge.reservation` names is released in the same
    /// transaction, so spent + reserved never under-counts. Returns whether
    /// this call stored the answer.
    async fn journal_put_charged(
        &self,
        run: &str,
        step: &str,
        index: u32,
        value: Value,
        charge: Charge,
        now: u64,
    ) -> Result<bool, StoreError>;

    /// Reserves `ask.micro_usd` if, in one transaction, the tenant's and the
    /// pool's charges of `ask.day` plus every reservation that has not lapsed
    /// (`expires_at > now`) plus this one stay within each given limit. Lapsed
    /// reservations are dropped first. This is the check that makes a budget
    /// hold across processes; a refusal writes nothing.
    async fn reserve_budget(&self, ask: BudgetAsk, now: u64) -> Result<BudgetReply, StoreError>;

    /// Releases reservation `id` (a call that failed, or was not charged); a
    /// reservation already released or lapsed is not an error.
    async fn release_budget(&self, id: u64, now: u64) -> Result<(), StoreError>;

    /// The (model calls, micro-dollars) charged to `run`.
    async fn run_cost(&self, run: &str) -> Result<(u64, u64), StoreError>;

    /// Micro-dollars charged to `tenant` on UTC day `day` (`yyyy-mm-dd`).
    async fn tenant_day_cost(&self, day: &str, tenant: &str) -> Result<u64, StoreError>;

    /// Micro-dollars charged to `pool` on UTC day `day`.
    async fn pool_day_cost(&self, day: &str, pool: &str) -> Result<u64, StoreError>;

    /// The cost rows from UTC day `since_day` (`yyyy-mm-dd`, inclusive) on, of
    /// `tenant` only if given, ordered by day, tenant, pool, model.
    async fn costs(
        &self,
        since_day: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<CostRow>, StoreError>;
}
