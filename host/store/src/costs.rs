//! Model-call costs: a journaled answer and its charge in one transaction.
//!
//! Money is whole micro-dollars (`u64`), never floats. One charge adds to the
//! run's own cost (`RunRecord::cost`: calls, tokens, micro-dollars), the run's
//! total in `run_cost`, the (UTC day, tenant) and (UTC day, pool) totals, the (day,
//! tenant, pool, model) row of `weft costs`, and appends `model-call-charged` to
//! the run's ledger — all in the transaction that journals the answer, so a
//! journal replay (the answer is already there) is never charged again.

use redb::{ReadTransaction, ReadableTable};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::StoreError;
use crate::ledger::{self, EventKind};
use crate::ops::common::{get_run, put_run};
use crate::store::Store;
use crate::tables::{self, Tables};

/// What one model call costs, charged with its journaled answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The UTC day (`yyyy-mm-dd`) it counts for: the day its budget was
    /// checked, even if the answer came after midnight.
    pub day: String,
    /// The task's pool.
    pub pool: String,
    /// The model (its name in `weft.yaml`).
    pub model: String,
    /// Input tokens the adapter reported.
    pub input_tokens: u64,
    /// Output tokens the adapter reported.
    pub output_tokens: u64,
    /// The cost in micro-dollars.
    pub micro_usd: u64,
}

/// One row of the cost table: a (UTC day, tenant, pool, model) total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostRow {
    /// UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// The tenant of the runs.
    pub tenant: String,
    /// The pool of the tasks.
    pub pool: String,
    /// The model.
    pub model: String,
    /// Model calls charged.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Micro-dollars.
    pub micro_usd: u64,
}

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
    let (calls, spent) = t.run_cost.get(run)?.map_or((0, 0), |g| g.value());
    t.run_cost
        .insert(run, (calls + 1, spent.saturating_add(charge.micro_usd)))?;
    let key = (day.as_str(), record.tenant.as_str());
    let total = t.cost_tenant_day.get(key)?.map_or(0, |g| g.value());
    t.cost_tenant_day
        .insert(key, total.saturating_add(charge.micro_usd))?;
    let key = (day.as_str(), charge.pool.as_str());
    let total = t.cost_pool_day.get(key)?.map_or(0, |g| g.value());
    t.cost_pool_day
        .insert(key, total.saturating_add(charge.micro_usd))?;
    let key = (
        day.as_str(),
        record.tenant.as_str(),
        charge.pool.as_str(),
        charge.model.as_str(),
    );
    let (c, i, o, m) = t.cost_detail.get(key)?.map_or((0, 0, 0, 0), |g| g.value());
    t.cost_detail.insert(
        key,
        (
            c + 1,
            i.saturating_add(charge.input_tokens),
            o.saturating_add(charge.output_tokens),
            m.saturating_add(charge.micro_usd),
        ),
    )?;
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

fn cost_rows(
    rt: &ReadTransaction,
    since_day: &str,
    tenant: Option<&str>,
) -> Result<Vec<CostRow>, StoreError> {
    let table = rt.open_table(tables::COST_DETAIL)?;
    let mut rows = Vec::new();
    for entry in table.range((since_day, "", "", "")..)? {
        let (k, v) = entry?;
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

impl Store {
    /// Journals model call `index` of `step` with its answer and charges
    /// `charge` in the same transaction; see [`journal_put_charged`].
    pub async fn journal_put_charged(
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

    /// The (model calls, micro-dollars) charged to `run`.
    pub fn run_cost(&self, run: &str) -> Result<(u64, u64), StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::RUN_COST)?;
            Ok(table.get(run)?.map_or((0, 0), |g| g.value()))
        })
    }

    /// Micro-dollars charged to `tenant` on UTC day `day` (`yyyy-mm-dd`).
    pub fn tenant_day_cost(&self, day: &str, tenant: &str) -> Result<u64, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::COST_TENANT_DAY)?;
            Ok(table.get((day, tenant))?.map_or(0, |g| g.value()))
        })
    }

    /// Micro-dollars charged to `pool` on UTC day `day`.
    pub fn pool_day_cost(&self, day: &str, pool: &str) -> Result<u64, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::COST_POOL_DAY)?;
            Ok(table.get((day, pool))?.map_or(0, |g| g.value()))
        })
    }

    /// The cost rows from UTC day `since_day` (`yyyy-mm-dd`, inclusive) on,
    /// of `tenant` only if given, ordered by day, tenant, pool, model.
    pub fn costs(&self, since_day: &str, tenant: Option<&str>) -> Result<Vec<CostRow>, StoreError> {
        self.read(|rt| cost_rows(rt, since_day, tenant))
    }
}
