//! Budget reservations: money held by model calls in flight, checked against
//! the tenant's and the pool's daily limits in the reserving transaction, so
//! that no two calls — in one process or in several — can together pass a
//! limit. A reservation ends when the charge that replaces it commits (same
//! transaction), when it is released, or when it lapses at `expires_at`.

use crate::db::OrDb;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::ops::common::bump;
use crate::tables::{Tables, decode, encode};
use weft_store_api::{BudgetAsk, BudgetReply, Limited, StoreError};

/// Counter: the last reservation id handed out.
const NEXT_RESERVATION: &str = "next_reservation_id";

/// A reservation as stored in `RESERVATIONS`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    day: String,
    tenant: String,
    pool: String,
    micro_usd: u64,
    expires_at: u64,
}

/// Reserves `ask.micro_usd` if every limit of `ask` holds with it (see
/// `CostStore::reserve_budget`).
pub fn reserve(t: &mut Tables<'_>, ask: &BudgetAsk, now: u64) -> Result<BudgetReply, StoreError> {
    lapse_due(t, now)?;
    let checks = [
        (Limited::Tenant, ask.tenant.as_str(), ask.tenant_limit),
        (Limited::Pool, ask.pool.as_str(), ask.pool_limit),
    ];
    for (limited, who, limit) in checks {
        let Some(limit) = limit else { continue };
        let key = (ask.day.as_str(), who);
        let (spent, reserved) = match limited {
            Limited::Tenant => (
                t.cost_tenant_day.get(key).db()?.map_or(0, |g| g.value()),
                t.reserved_tenant_day
                    .get(key)
                    .db()?
                    .map_or(0, |g| g.value()),
            ),
            Limited::Pool => (
                t.cost_pool_day.get(key).db()?.map_or(0, |g| g.value()),
                t.reserved_pool_day.get(key).db()?.map_or(0, |g| g.value()),
            ),
        };
        if spent.saturating_add(reserved).saturating_add(ask.micro_usd) > limit {
            return Ok(BudgetReply::Exceeded {
                limited,
                spent,
                reserved,
                limit,
            });
        }
    }
    let id = bump(t, NEXT_RESERVATION, 1)?;
    let held = Held {
        day: ask.day.clone(),
        tenant: ask.tenant.clone(),
        pool: ask.pool.clone(),
        micro_usd: ask.micro_usd,
        expires_at: ask.expires_at,
    };
    t.reservations.insert(id, encode(&held)?.as_slice()).db()?;
    t.reservation_expiry
        .insert((held.expires_at, id), ())
        .db()?;
    add(t, &held, true)?;
    Ok(BudgetReply::Reserved { id })
}

/// Ends reservation `id` (a no-op if it already ended).
pub fn release(t: &mut Tables<'_>, id: u64) -> Result<(), StoreError> {
    let Some(held) = t
        .reservations
        .remove(id)
        .db()?
        .map(|g| decode::<Held>(g.value()))
        .transpose()?
    else {
        return Ok(());
    };
    t.reservation_expiry.remove((held.expires_at, id)).db()?;
    add(t, &held, false)
}

/// Ends every reservation whose `expires_at <= now`.
fn lapse_due(t: &mut Tables<'_>, now: u64) -> Result<(), StoreError> {
    let mut due = Vec::new();
    for entry in t
        .reservation_expiry
        .range((0u64, 0u64)..=(now, u64::MAX))
        .db()?
    {
        due.push(entry.db()?.0.value().1);
    }
    for id in due {
        release(t, id)?;
    }
    Ok(())
}

/// Adds `held` to (or, `hold = false`, takes it from) the reserved totals.
fn add(t: &mut Tables<'_>, held: &Held, hold: bool) -> Result<(), StoreError> {
    let tenant = (held.day.as_str(), held.tenant.as_str());
    let pool = (held.day.as_str(), held.pool.as_str());
    for (table, key) in [
        (&mut t.reserved_tenant_day, tenant),
        (&mut t.reserved_pool_day, pool),
    ] {
        let total = table.get(key).db()?.map_or(0, |g| g.value());
        let total = if hold {
            total.saturating_add(held.micro_usd)
        } else {
            total.saturating_sub(held.micro_usd)
        };
        if total == 0 {
            table.remove(key).db()?;
        } else {
            table.insert(key, total).db()?;
        }
    }
    Ok(())
}
