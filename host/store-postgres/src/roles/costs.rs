//! [`CostStore`] on PostgreSQL (see `ops::costs`).

use serde_json::Value;
use weft_store_api::{BudgetAsk, BudgetReply, Charge, CostRow, CostStore, StoreError};

use crate::conv::u;
use crate::ops::costs;
use crate::store::PgStore;
use crate::tx::{read_tx, write_tx};

#[async_trait::async_trait]
impl CostStore for PgStore {
    async fn journal_put_charged(
        &self,
        run: &str,
        step: &str,
        index: u32,
        value: Value,
        charge: Charge,
        now: u64,
    ) -> Result<bool, StoreError> {
        write_tx!(self, t => costs::journal_put_charged(&t, run, step, index, &value, &charge, now).await)
    }

    async fn reserve_budget(&self, ask: BudgetAsk, now: u64) -> Result<BudgetReply, StoreError> {
        write_tx!(self, t => costs::reserve(&t, &ask, now).await)
    }

    async fn release_budget(&self, id: u64, _now: u64) -> Result<(), StoreError> {
        write_tx!(self, t => costs::release(&t, id).await)
    }

    async fn run_cost(&self, run: &str) -> Result<(u64, u64), StoreError> {
        read_tx!(self, t => {
            let row = t
                .row("SELECT cost_calls, cost_micro_usd FROM runs WHERE id = $1", &[&run])
                .await?;
            Ok::<_, StoreError>(row.map_or((0, 0), |r| (u(r.get(0)), u(r.get(1)))))
        })
    }

    async fn tenant_day_cost(&self, day: &str, tenant: &str) -> Result<u64, StoreError> {
        read_tx!(self, t => {
            let row = t
                .row("SELECT micro_usd FROM cost_tenant_day WHERE day = $1 AND tenant = $2", &[&day, &tenant])
                .await?;
            Ok::<_, StoreError>(row.map_or(0, |r| u(r.get(0))))
        })
    }

    async fn pool_day_cost(&self, day: &str, pool: &str) -> Result<u64, StoreError> {
        read_tx!(self, t => {
            let row = t
                .row("SELECT micro_usd FROM cost_pool_day WHERE day = $1 AND pool = $2", &[&day, &pool])
                .await?;
            Ok::<_, StoreError>(row.map_or(0, |r| u(r.get(0))))
        })
    }

    async fn costs(
        &self,
        since_day: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<CostRow>, StoreError> {
        read_tx!(self, t => {
            let rows = t
                .rows(
                    "SELECT day, tenant, pool, model, calls, input_tokens, output_tokens, micro_usd \
                     FROM cost_detail WHERE day >= $1 AND ($2::text IS NULL OR tenant = $2) \
                     ORDER BY day, tenant, pool, model",
                    &[&since_day, &tenant],
                )
                .await?;
            Ok::<_, StoreError>(
                rows.iter()
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
                    .collect(),
            )
        })
    }
}
