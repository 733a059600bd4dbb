//! `GET /v1/costs`: what model calls cost, per UTC day, tenant, pool and model.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use weft_core::Money;
use weft_store_api::CostRow;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Query of `GET /v1/costs`.
#[derive(Debug, Deserialize)]
pub struct CostsQuery {
    /// Only this tenant (a tenant token sees only its own, whatever it asks).
    tenant: Option<String>,
    /// From this UTC day on, `yyyy-mm-dd` (default: every day).
    since: Option<String>,
}

/// `GET /v1/costs[?tenant=T][&since=yyyy-mm-dd]`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<CostsQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = match (caller.tenant(), q.tenant) {
        (Some(own), Some(asked)) if asked != own => {
            return Err(ApiError::Forbidden(format!(
                "a token of tenant `{own}` sees only its own costs, not those of `{asked}`"
            )));
        }
        (Some(own), _) => Some(own.to_owned()),
        (None, asked) => asked,
    };
    let since = q.since.unwrap_or_default();
    if !since.is_empty() && !is_day(&since) {
        return Err(ApiError::BadRequest(format!(
            "since `{since}`: expected a UTC day as yyyy-mm-dd"
        )));
    }
    let rows = state
        .engine
        .store()
        .costs(&since, tenant.as_deref())
        .await?;
    Ok(Json(costs_json(&since, &rows)))
}

fn is_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// The cost rows as the API answers them: each row and the totals, money as
/// exact `micro_usd` and as `usd` for people.
pub fn costs_json(since: &str, rows: &[CostRow]) -> Value {
    let (mut calls, mut input, mut output, mut total) = (0u64, 0u64, 0u64, Money::ZERO);
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let cost = Money::from_micros(r.micro_usd);
            calls = calls.saturating_add(r.calls);
            input = input.saturating_add(r.input_tokens);
            output = output.saturating_add(r.output_tokens);
            total = total.saturating_add(cost);
            json!({
                "day": r.day, "tenant": r.tenant, "pool": r.pool, "model": r.model,
                "calls": r.calls, "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens, "micro_usd": cost,
                "usd": cost.as_usd(),
            })
        })
        .collect();
    json!({
        "since": since,
        "rows": rows,
        "total": {
            "calls": calls, "input_tokens": input, "output_tokens": output,
            "micro_usd": total, "usd": total.as_usd(),
        },
    })
}
