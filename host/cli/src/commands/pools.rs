//! `weft pools [--pool NAME] [--state DIR | --daemon URL] [--json]`: a table
//! of the pools (active, max, queued, cost today, limit); with `--pool`, that
//! pool's running/max, queued, cost today and limit, rate-limit tokens, the
//! policy deciding (its name and sha256, and whether it was swapped in), and
//! the running and waiting tasks with how long they have been there; then each
//! model's circuit breaker (open, half-open, closed) as the daemon sees it.
//!
//! Through a daemon this is `GET /v1/pools`; without one the project's engine
//! is opened on the state folder (its workers are not started).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::state::{human_duration, print_json};
use crate::cli::PoolsArgs;
use crate::client;

/// Prints the pools of the daemon, or of the project's state folder.
pub(crate) async fn run(args: PoolsArgs) -> Result<ExitCode> {
    let pool = args.pool.clone().filter(|p| !p.is_empty());
    let answer = client::with_client(&args.state, async |client| {
        client.pools(pool.as_deref()).await
    })
    .await?;
    if args.state.json {
        print_json(&answer)?;
    } else {
        print_text(&answer, pool.is_some());
    }
    Ok(ExitCode::SUCCESS)
}

/// Without `--pool`: one table row per pool. With it: that pool's block.
/// Then the model circuits.
fn print_text(answer: &Value, detailed: bool) {
    let now = answer.get("now_ms").and_then(Value::as_u64).unwrap_or(0);
    let pools = answer
        .get("pools")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if pools.is_empty() {
        println!("no pools");
    } else if detailed {
        for pool in &pools {
            print_details(pool, now);
        }
    } else {
        print!("{}", table(&pools));
    }
    print_circuits(answer.get("circuits"), now);
}

/// The pools as one table: name, active, max, queued, cost today, limit.
fn table(pools: &[Value]) -> String {
    let rows: Vec<[String; 6]> = pools
        .iter()
        .map(|pool| {
            let number = |key: &str| pool.get(key).and_then(Value::as_u64).unwrap_or(0);
            [
                pool.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_owned(),
                number("active").to_string(),
                number("max_concurrent").to_string(),
                number("queued").to_string(),
                spent(pool),
                limit(pool).map_or_else(|| "-".to_owned(), |l| format!("${l:.2}")),
            ]
        })
        .collect();
    let header = ["POOL", "ACTIVE", "MAX", "QUEUED", "COST TODAY", "LIMIT"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: [&str; 6]| {
        let [name, active, max, queued, cost, limit] = cells;
        format!(
            "{name:<w0$}  {active:>w1$}  {max:>w2$}  {queued:>w3$}  {cost:>w4$}  {limit}\n",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
        )
    };
    let mut out = line(header);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]));
    }
    out
}

/// Dollars the pool spent today, as `$1.23`; `?` when the answer does not
/// say (never a spend of zero that was not read).
fn spent(pool: &Value) -> String {
    pool.get("cost_today_usd")
        .and_then(Value::as_f64)
        .map_or_else(|| "?".to_owned(), |usd| format!("${usd:.2}"))
}

/// The pool's daily cost limit, if it has one.
fn limit(pool: &Value) -> Option<f64> {
    pool.get("cost_limit_daily_usd").and_then(Value::as_f64)
}

/// One pool's figures, then its tasks.
fn print_details(pool: &Value, now: u64) {
    let text = |key: &str| pool.get(key).and_then(Value::as_str).unwrap_or("-");
    let number = |key: &str| pool.get(key).and_then(Value::as_u64).unwrap_or(0);
    println!("pool {}", text("name"));
    println!(
        "  running  {}/{}",
        number("active"),
        number("max_concurrent")
    );
    println!("  queued   {}", number("queued"));
    let limit = limit(pool).map_or_else(|| "no limit".to_owned(), |l| format!("limit ${l:.2}"));
    println!("  cost     {} today ({limit})", spent(pool));
    if let Some([per_minute, burst]) = pool
        .get("rate_limit")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        let tokens = pool
            .get("rate_tokens")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        println!("  rate     {per_minute}/min, burst {burst} ({tokens:.1} tokens now)");
    }
    println!("  on full  {}", text("on_exhausted"));
    println!("  policy   {}", policy_line(pool));
    print_tasks("running", pool.get("running"), now);
    print_tasks("waiting", pool.get("waiting"), now);
}

/// The policy deciding now: its name and sha256 (the same component's), and
/// whether it was swapped in over the one weft.yaml names.
fn policy_line(pool: &Value) -> String {
    let text = |key: &str| pool.get(key).and_then(Value::as_str);
    let sha = text("policy_sha256").unwrap_or("-");
    if sha == weft_engine::PRIORITY_ORDER {
        return format!("priority order ({sha})");
    }
    let swapped = pool.get("policy_swapped").and_then(Value::as_bool) == Some(true);
    let name = text("policy").unwrap_or("(unnamed component)");
    let sha = super::state::cut(sha, 16);
    if !swapped {
        return format!("{name} {sha}");
    }
    match text("configured_policy") {
        Some(configured) => format!("{name} {sha} (swapped in over {configured})"),
        None => format!("{name} {sha} (swapped in over priority order)"),
    }
}

/// One line per model whose circuit breaker has seen a call (circuits live in
/// the daemon's memory: without a daemon there are none).
fn print_circuits(circuits: Option<&Value>, now: u64) {
    let circuits = circuits
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if circuits.is_empty() {
        return;
    }
    println!("model circuits:");
    for c in &circuits {
        let text = |key: &str| c.get(key).and_then(Value::as_str).unwrap_or("-");
        let failures = c
            .get("consecutive_failures")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let reopen = c
            .get("half_open_at_ms")
            .and_then(Value::as_u64)
            .map(|at| format!(", half-opens in {}", human_duration(at.saturating_sub(now))))
            .unwrap_or_default();
        println!(
            "  {:<20} {:<9} {failures} transient failures in a row{reopen}",
            text("model"),
            text("state")
        );
    }
}

/// One line per task: run, step, tenant, priority and for how long.
fn print_tasks(what: &str, tasks: Option<&Value>, now: u64) {
    let tasks = tasks.and_then(Value::as_array).cloned().unwrap_or_default();
    if tasks.is_empty() {
        return;
    }
    println!("  {what}:");
    for t in &tasks {
        let text = |key: &str| t.get(key).and_then(Value::as_str).unwrap_or("-");
        let since = t.get("since_ms").and_then(Value::as_u64).unwrap_or(now);
        println!(
            "    {} {}/{} tenant {} prio {} for {}",
            t.get("task").and_then(Value::as_u64).unwrap_or(0),
            text("run"),
            text("step"),
            text("tenant"),
            t.get("priority").and_then(Value::as_u64).unwrap_or(0),
            human_duration(now.saturating_sub(since)),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{policy_line, table};

    #[test]
    fn the_pools_are_one_table() {
        let pools = [
            json!({"name": "default", "active": 0, "max_concurrent": 8, "queued": 0,
                   "cost_today_usd": 0.0, "cost_limit_daily_usd": null}),
            json!({"name": "llm", "active": 2, "max_concurrent": 2, "queued": 13,
                   "cost_today_usd": 1.234, "cost_limit_daily_usd": 5.0}),
        ];
        assert_eq!(
            table(&pools),
            "POOL     ACTIVE  MAX  QUEUED  COST TODAY  LIMIT\n\
             default       0    8       0       $0.00  -\n\
             llm           2    2      13       $1.23  $5.00\n"
        );
    }

    #[test]
    fn the_policy_line_names_the_component_its_hash_is_of() {
        let swapped = json!({"policy": "fair-share", "configured_policy": "priority-fifo",
            "policy_sha256": "5f9a0123456789abcdef", "policy_swapped": true});
        assert_eq!(
            policy_line(&swapped),
            "fair-share 5f9a0123456789a… (swapped in over priority-fifo)"
        );
        let configured = json!({"policy": "priority-fifo", "configured_policy": "priority-fifo",
            "policy_sha256": "abc", "policy_swapped": false});
        assert_eq!(policy_line(&configured), "priority-fifo abc");
        let none = json!({"policy": null, "policy_sha256": "host:priority-order"});
        assert_eq!(policy_line(&none), "priority order (host:priority-order)");
    }
}
