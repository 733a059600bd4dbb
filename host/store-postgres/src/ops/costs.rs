//! Model-call charges and budget reservations. The (day, tenant) and (day,
//! pool) rows of `cost_tenant_day` / `cost_pool_day` hold both what was
//! charged and what is reserved; a reservation locks both rows (tenant's
//! first) and reserves iff spent + reserved + ask stays within each limit, so
//! no two calls — in one process or in several — pass a limit together. A
//! charge locks the same rows to add to them and release its reservation.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use weft_store_api::{BudgetAsk, BudgetReply, Charge, EventKind, Limited, StoreError};

use crate::conv::{i, u};
use crate::ops::ledger;
use crate::ops::records::{get_run, put_run};
use crate::tx::Tx;

/// Journals a model call's answer and, if this call stored it, charges it
/// (see `CostStore::journal_put_charged`).
#[allow(
    clippy::too_many_arguments,
    reason = "the contract's arguments, one each"
)]
pub(crate) async fn journal_put_charged(
    t: &Tx<'_>,
    run: &str,
    step: &str,
    index: u32,
    value: &Value,
    charge: &Charge,
    now: u64,
) -> Result<bool, StoreError> {
    let mut record = get_run(t, run, true).await?;
    if let Some(id) = charge.reservation {
        release(t, id).await?;
    }
    if !crate::ops::misc::journal_put(t, run, step, index, value, now).await? {
        return Ok(false);
    }
    let cost = &mut record.cost;
    cost.calls += 1;
    cost.input_tokens = cost.input_tokens.saturating_add(charge.input_tokens);
    cost.output_tokens = cost.output_tokens.saturating_add(charge.output_tokens);
    cost.micro_usd = cost.micro_usd.saturating_add(charge.micro_usd);
    put_run(t, &record).await?;
    let micro = i(charge.micro_usd);
    t.exec(
        "INSERT INTO cost_tenant_day (day, tenant, micro_usd) VALUES ($1, $2, $3) \
         ON CONFLICT (day, tenant) DO UPDATE SET micro_usd = cost_tenant_day.micro_usd + $3",
        &[&charge.day, &record.tenant, &micro],
    )
    .await?;
    t.exec(
        "INSERT INTO cost_pool_day (day, pool, micro_usd) VALUES ($1, $2, $3) \
         ON CONFLICT (day, pool) DO UPDATE SET micro_usd = cost_pool_day.micro_usd + $3",
        &[&charge.day, &charge.pool, &micro],
    )
    .await?;
    t.exec(
        "INSERT INTO cost_detail (day, tenant, pool, model, calls, input_tokens, output_tokens, \
         micro_usd) VALUES ($1, $2, $3, $4, 1, $5, $6, $7) \
         ON CONFLICT (day, tenant, pool, model) DO UPDATE SET calls = cost_detail.calls + 1, \
         input_tokens = cost_detail.input_tokens + $5, \
         output_tokens = cost_detail.output_tokens + $6, micro_usd = cost_detail.micro_usd + $7",
        &[
            &charge.day,
            &record.tenant,
            &charge.pool,
            &charge.model,
            &i(charge.input_tokens),
            &i(charge.output_tokens),
            &micro,
        ],
    )
    .await?;
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
    ledger::append(t, run, now, EventKind::ModelCallCharged, payload).await?;
    Ok(true)
}

/// Locks (creating if missing) the (day, who) row of `table` and returns its
/// (spent, reserved).
async fn lock_day(
    t: &Tx<'_>,
    limited: Limited,
    day: &str,
    who: &str,
) -> Result<(u64, u64), StoreError> {
    let (insert, select) = match limited {
        Limited::Tenant => (
            "INSERT INTO cost_tenant_day (day, tenant) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            "SELECT micro_usd, reserved FROM cost_tenant_day WHERE day = $1 AND tenant = $2 \
             FOR UPDATE",
        ),
        Limited::Pool => (
            "INSERT INTO cost_pool_day (day, pool) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            "SELECT micro_usd, reserved FROM cost_pool_day WHERE day = $1 AND pool = $2 \
             FOR UPDATE",
        ),
    };
    t.exec(insert, &[&day, &who]).await?;
    let row = t.row(select, &[&day, &who]).await?;
    Ok(row.map_or((0, 0), |r| (u(r.get(0)), u(r.get(1)))))
}

/// Adds `delta` (negative: takes it away, not below 0) to a day row's reserved.
async fn add_reserved(
    t: &Tx<'_>,
    limited: Limited,
    day: &str,
    who: &str,
    delta: i64,
) -> Result<(), StoreError> {
    let sql = match limited {
        Limited::Tenant => {
            "UPDATE cost_tenant_day SET reserved = greatest(reserved + $3, 0) \
             WHERE day = $1 AND tenant = $2"
        }
        Limited::Pool => {
            "UPDATE cost_pool_day SET reserved = greatest(reserved + $3, 0) \
             WHERE day = $1 AND pool = $2"
        }
    };
    t.exec(sql, &[&day, &who, &delta]).await?;
    Ok(())
}

/// Reserves `ask.micro_usd` if every limit of `ask` holds with it.
pub(crate) async fn reserve(
    t: &Tx<'_>,
    ask: &BudgetAsk,
    now: u64,
) -> Result<BudgetReply, StoreError> {
    lapse_due(t, now).await?;
    let tenant = lock_day(t, Limited::Tenant, &ask.day, &ask.tenant).await?;
    let pool = lock_day(t, Limited::Pool, &ask.day, &ask.pool).await?;
    let checks = [
        (Limited::Tenant, tenant, ask.tenant_limit),
        (Limited::Pool, pool, ask.pool_limit),
    ];
    for (limited, (spent, reserved), limit) in checks {
        let Some(limit) = limit else { continue };
        if spent.saturating_add(reserved).saturating_add(ask.micro_usd) > limit {
            return Ok(BudgetReply::Exceeded {
                limited,
                spent,
                reserved,
                limit,
            });
        }
    }
    let id = t
        .wrows(
            "INSERT INTO reservations (id, day, tenant, pool, micro_usd, expires_at) \
             VALUES (nextval('reservation_ids'), $1, $2, $3, $4, $5) RETURNING id",
            &[
                &ask.day,
                &ask.tenant,
                &ask.pool,
                &i(ask.micro_usd),
                &i(ask.expires_at),
            ],
        )
        .await?
        .first()
        .map_or(0, |r| u(r.get(0)));
    let micro = i(ask.micro_usd);
    add_reserved(t, Limited::Tenant, &ask.day, &ask.tenant, micro).await?;
    add_reserved(t, Limited::Pool, &ask.day, &ask.pool, micro).await?;
    Ok(BudgetReply::Reserved { id })
}

/// Ends reservation `id` (a no-op if it already ended).
pub(crate) async fn release(t: &Tx<'_>, id: u64) -> Result<(), StoreError> {
    let rows = t
        .wrows(
            "DELETE FROM reservations WHERE id = $1 RETURNING day, tenant, pool, micro_usd",
            &[&i(id)],
        )
        .await?;
    for r in &rows {
        let (day, tenant, pool): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let micro: i64 = r.get(3);
        add_reserved(t, Limited::Tenant, &day, &tenant, -micro).await?;
        add_reserved(t, Limited::Pool, &day, &pool, -micro).await?;
    }
    Ok(())
}

/// Ends every reservation whose `expires_at <= now` (those another
/// transaction holds are left to it), taking them from the day rows in key
/// order (tenants, then pools).
async fn lapse_due(t: &Tx<'_>, now: u64) -> Result<(), StoreError> {
    let rows = t
        .wrows(
            "DELETE FROM reservations WHERE id IN (SELECT id FROM reservations \
             WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED) RETURNING day, tenant, pool, micro_usd",
            &[&i(now)],
        )
        .await?;
    let mut tenants: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut pools: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in &rows {
        let micro: i64 = r.get(3);
        *tenants.entry((r.get(0), r.get(1))).or_default() += micro;
        *pools.entry((r.get(0), r.get(2))).or_default() += micro;
    }
    for ((day, who), micro) in tenants {
        add_reserved(t, Limited::Tenant, &day, &who, -micro).await?;
    }
    for ((day, who), micro) in pools {
        add_reserved(t, Limited::Pool, &day, &who, -micro).await?;
    }
    Ok(())
}
