//! Model-call costs: a journaled answer and its charge in one transaction.
//!
//! Money is whole micro-dollars (`u64`), never floats. One charge adds to the
//! run's own cost (`RunRecord::cost`: calls, tokens, micro-dollars), the run's
//! total in `run_cost`, the (UTC day, tenant) and (UTC day, pool) totals, the (day,
//! tenant, pool, model) row of `weft costs`, and appends `model-call-charged` to
//! the run's ledger — all in the transaction that journals the answer, so a
//! journal replay (the answer is already there) is never charged again.

use crate::db::OrDb;
use redb::{ReadTransaction, ReadableTable};
use serde_json::{Value, json};

use crate::ledger::{self, EventKind};
use crate::ops::common::{get_run, put_run};
use crate::store::RedbStore;
use crate::tables::{self, Tables};
use weft_store_api::{BudgetAsk, BudgetReply, Charge, CostRow, CostStore, StoreError};

/// Journals a model call's answer and, if this call stored it, charges
/// `charge` to the run's tenant. Returns whether it
/// was stored (false: an answer was already journaled; nothing is charged).
pub(crate) fn journal_put_charged(
    t: &mut Tables<'_>,
    run: &str,
    step: &str,
    index: u32,
    value: &Value,
    charge: &Charge,
    now: u64,
) -> Result<bool, StoreError> {
    let mut record = get_run(t, run)?;
    if let Some(id) = charge.reservation {
        crate::ops::reservations::release(t, id)?;
    }
    if !crate::ops::misc::journal_put(t, run, step, index, value, now)? {
        return Ok(false);
    }
    let cost = &mut record.cost;
    cost.calls += 1;
    cost.input_tokens = cost.input_tokens.saturating_add(charge.input_tokens);
    cost.output_tokens = cost.output_tokens.saturating_add(charge.output_tokens);
    cost.micro_usd = cost.micro_usd.saturating_add(charge.micro_usd);
    put_run(t, &record)?;
    let day = &charge.day;
    let (calls, spent) = t.run_cost.get(run).db()?.map_or((0, 0), |g| g.value());
    t.run_cost
        .insert(run, (calls + 1, spent.saturating_add(charge.micro_usd)))
        .db()?;
    let key = (day.as_str(), record.tenant.as_str());
    let total = t.cost_tenant_day.get(key).db()?.map_or(0, |g| g.value());
    t.cost_tenant_day
        .insert(key, total.saturating_add(charge.micro_usd))
        .db()?;
    let key = (day.as_str(), charge.pool.as_str());
    let total = t.cost_pool_day.get(key).db()?.map_or(0, |g| g.value());
    t.cost_pool_day
        .insert(key, total.saturating_add(charge.micro_usd))
        .db()?;
    let key = (
        day.as_str(),
        record.tenant.as_str(),
        charge.pool.as_str(),
        charge.model.as_str(),
    );
    let (c, i, o, m) = t
        .cost_detail
        .get(key)
        .db()?
        .map_or((0, 0, 0, 0), |g| g.value());
    t.cost_detail
        .insert(
            key,
            (
                c + 1,
                i.saturating_add(charge.input_tokens),
                o.saturating_add(charge.output_tokens),
                m.saturating_add(charge.micro_usd),
            ),
        )
        .db()?;
    let payload = json!({
        "step": step,
        "index": index,
        "day": charge.day,
        "model": charge.model,
        "pool": charge.pool,
        "input_tokens": charge.input_tokens,
        "output_tokens": charge.output_tokens,
        "cost_micro_usd": charge.micro_usd,
    });
    ledger::append(t, run, now, EventKind::ModelCallCharged, payload)?;
    Ok(true)
}

pub(crate) fn cost_rows(
    rt: &ReadTransaction,
    since_day: &str,
    tenant: Option<&str>,
) -> Result<Vec<CostRow>, StoreError> {
    let table = rt.open_table(tables::COST_DETAIL).db()?;
    let mut rows = Vec::new();
    for entry in table.range((since_day, "", "", "")..).db()? {
        let (k, v) = entry.db()?;
        let (day, row_tenant, pool, model) = k.value();
        if tenant.is_some_and(|t| t != row_tenant) {
            continue;
        }
        let (calls, input_tokens, output_tokens, micro_usd) = v.value();
        rows.push(CostRow {
            day: day.to_owned(),
            tenant: row_tenant.to_owned(),
            pool: pool.to_owned(),
            model: model.to_owned(),
            calls,
            input_tokens,
            output_tokens,
            micro_usd,
        });
    }
    Ok(rows)
}

#[async_trait::async_trait]
impl CostStore for RedbStore {
    async fn journal_put_charged(
        &self,
        run: &str,
        step: &str,
        index: u32,
        value: Value,
        charge: Charge,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (run, step) = (run.to_owned(), step.to_owned());
        self.write(move |t| journal_put_charged(t, &run, &step, index, &value, &charge, now))
            .await
    }

    // Reservations are volatile commits: the call holding one runs in this
    // process, so a crash that loses it also ends the call; one made durable
    // by a later commit lapses at its `expires_at`.
    async fn reserve_budget(&self, ask: BudgetAsk, now: u64) -> Result<BudgetReply, StoreError> {
        self.write_volatile(move |t| crate::ops::reservations::reserve(t, &ask, now))
            .await
    }

    async fn release_budget(&self, id: u64, _now: u64) -> Result<(), StoreError> {
        self.write_volatile(move |t| crate::ops::reservations::release(t, id))
            .await
    }

    async fn run_cost(&self, run: &str) -> Result<(u64, u64), StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::RUN_COST).db()?;
            Ok(table.get(run).db()?.map_or((0, 0), |g| g.value()))
        })
    }

    async fn tenant_day_cost(&self, day: &str, tenant: &str) -> Result<u64, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::COST_TENANT_DAY).db()?;
            Ok(table.get((day, tenant)).db()?.map_or(0, |g| g.value()))
        })
    }

    async fn pool_day_cost(&self, day: &str, pool: &str) -> Result<u64, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::COST_POOL_DAY).db()?;
            Ok(table.get((day, pool)).db()?.map_or(0, |g| g.value()))
        })
    }

    async fn costs(
        &self,
        since_day: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<CostRow>, StoreError> {
        self.read(|rt| cost_rows(rt, since_day, tenant))
    }
}
