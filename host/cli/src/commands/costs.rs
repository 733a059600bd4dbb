//! `weft costs [--tenant T] [--since 7d|yyyy-mm-dd] [--state DIR | --daemon URL]
//! [--json]`: what model calls cost, per UTC day, tenant, pool and model.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::Value;
use weft_core::Money;
use weft_flow::duration::parse_duration;
use weft_store_api::utc_date;

use super::state::{now_ms, print_json};
use crate::cli::CostsArgs;
use crate::client;

const DAY_MS: u64 = 86_400_000;

/// Prints the cost table of the daemon, or of the state folder's store.
pub(crate) async fn run(args: CostsArgs) -> Result<ExitCode> {
    let since = match &args.since {
        Some(text) => since_day(text, now_ms())?,
        None => String::new(),
    };
    let costs = client::open(&args.state)
        .costs(&since, args.tenant.as_deref())
        .await?;
    if args.state.json {
        print_json(&costs)?;
    } else {
        print_table(&costs);
    }
    Ok(ExitCode::SUCCESS)
}

/// `7d` (a whole number of days in weft's duration grammar, so `168h` too) →
/// the UTC day 6 days before today's; `yyyy-mm-dd` as it is.
fn since_day(text: &str, now: u64) -> Result<String> {
    if let Ok(back) = parse_duration(text) {
        let back = u64::try_from(back.as_millis()).unwrap_or(u64::MAX);
        if back == 0 || !back.is_multiple_of(DAY_MS) {
            bail!(
                "--since `{text}`: expected a whole number of days such as `7d`, or a UTC day yyyy-mm-dd"
            );
        }
        return Ok(utc_date(now.saturating_sub(back - DAY_MS)));
    }
    let b = text.as_bytes();
    let is_day = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !is_day {
        bail!("--since `{text}`: expected a number of days such as `7d`, or a UTC day yyyy-mm-dd");
    }
    Ok(text.to_owned())
}

/// Micro-dollars as `$0.030000`: all six digits, so the column lines up.
fn usd(micro: u64) -> String {
    format!("{:#}", Money::from_micros(micro))
}

/// One line per (day, tenant, pool, model), then the totals.
fn print_table(costs: &Value) {
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    println!(
        "{:<10}  {:<16}  {:<12}  {:<16}  {:>7}  {:>10}  {:>10}  {:>14}",
        "DAY", "TENANT", "POOL", "MODEL", "CALLS", "IN TOK", "OUT TOK", "USD"
    );
    let rows = costs.get("rows").and_then(Value::as_array);
    for row in rows.into_iter().flatten() {
        println!(
            "{:<10}  {:<16}  {:<12}  {:<16}  {:>7}  {:>10}  {:>10}  {:>14}",
            s(row, "day"),
            s(row, "tenant"),
            s(row, "pool"),
            s(row, "model"),
            n(row, "calls"),
            n(row, "input_tokens"),
            n(row, "output_tokens"),
            usd(n(row, "micro_usd"))
        );
    }
    let total = costs.get("total").cloned().unwrap_or(Value::Null);
    println!(
        "{:<10}  {:<16}  {:<12}  {:<16}  {:>7}  {:>10}  {:>10}  {:>14}",
        "total",
        "",
        "",
        "",
        n(&total, "calls"),
        n(&total, "input_tokens"),
        n(&total, "output_tokens"),
        usd(n(&total, "micro_usd"))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_days_back_or_a_date() {
        let noon = 1_795_305_600_000 + 12 * 3_600_000; // 2026-11-22 12:00 UTC
        assert_eq!(since_day("1d", noon).unwrap(), "2026-11-22");
        assert_eq!(since_day("7d", noon).unwrap(), "2026-11-16");
        assert_eq!(since_day("2026-01-02", noon).unwrap(), "2026-01-02");
        assert_eq!(since_day("168h", noon).unwrap(), "2026-11-16");
        assert!(since_day("0d", noon).is_err());
        assert!(since_day("36h", noon).is_err());
        assert!(since_day("yesterday", noon).is_err());
    }
}
