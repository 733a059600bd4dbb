//! `weft pools [--pool NAME] [--state DIR | --daemon URL] [--json]`: each
//! pool's running/max, queued, cost today and limit, rate-limit tokens, the
//! policy deciding (and whether it was swapped in), and the running and
//! waiting tasks with how long they have been there; then each model's
//! circuit breaker (open, half-open, closed) as the daemon sees it.
//!
//! Through a daemon this is `GET /v1/pools`; without one the project's engine
//! is opened on the state folder (its workers are not started).

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use weft_engine::{Engine, EngineOptions};

use super::daemon::load_flows;
use super::daemon_client::DaemonClient;
use super::project::{find_project_file, flows_dir, load_project};
use super::state::{human_duration, print_json};
use crate::cli::{PoolsArgs, StateArgs};

/// Prints the pools of the daemon, or of the project's state folder.
pub(crate) async fn run(args: PoolsArgs) -> Result<ExitCode> {
    let pool = args.pool.clone().filter(|p| !p.is_empty());
    let answer = match DaemonClient::from_flag(args.state.daemon.as_deref()) {
        Some(daemon) => {
            let query: Vec<(&str, String)> = pool.iter().map(|p| ("pool", p.clone())).collect();
            daemon.get("/v1/pools", &query)?
        }
        None => {
            let engine = open_local(&args.state).await?;
            let mut pools = engine.pools_status()?;
            let now = engine.now_ms();
            let circuits = engine.circuits();
            engine.store().clone().close().await;
            if let Some(name) = &pool {
                pools.retain(|p| &p.name == name);
                if pools.is_empty() {
                    bail!("unknown pool `{name}` (see `weft pools` for the declared ones)");
                }
            }
            json!({ "now_ms": now, "pools": pools, "circuits": circuits })
        }
    };
    if args.state.json {
        print_json(&answer)?;
    } else {
        print_text(&answer);
    }
    Ok(ExitCode::SUCCESS)
}

/// The project's engine on `state`'s folder, with every flow of the project
/// (a swap of a flow's retry strategy needs the flow), workers not started.
pub(crate) async fn open_local(state: &StateArgs) -> Result<Engine> {
    let project = load_project(&find_project_file()?)?;
    let folder = load_flows(&flows_dir(&project), &project)?;
    let dir = state
        .state
        .clone()
        .unwrap_or_else(|| project.state_dir.clone());
    let options = EngineOptions {
        workers: 1,
        ..EngineOptions::default()
    };
    Ok(Engine::open_with(project, folder.flows(), &dir, options).await?)
}

/// A block per pool: its figures, then its tasks.
fn print_text(answer: &Value) {
    let now = answer.get("now_ms").and_then(Value::as_u64).unwrap_or(0);
    let pools = answer
        .get("pools")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if pools.is_empty() {
        println!("no pools");
    }
    for pool in &pools {
        let text = |key: &str| pool.get(key).and_then(Value::as_str).unwrap_or("-");
        let number = |key: &str| pool.get(key).and_then(Value::as_u64).unwrap_or(0);
        println!("pool {}", text("name"));
        println!(
            "  running  {}/{}",
            number("active"),
            number("max_concurrent")
        );
        println!("  queued   {}", number("queued"));
        let spent = pool
            .get("cost_today_usd")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let limit = pool
            .get("cost_limit_daily_usd")
            .and_then(Value::as_f64)
            .map_or_else(|| "no limit".to_owned(), |l| format!("limit ${l:.2}"));
        println!("  cost     ${spent:.2} today ({limit})");
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
        let sha = text("policy_sha256");
        let swapped = pool.get("policy_swapped").and_then(Value::as_bool) == Some(true);
        println!(
            "  policy   {} {}{}",
            text("policy"),
            super::state::cut(sha, 16),
            if swapped { " (swapped in)" } else { "" }
        );
        print_tasks("running", pool.get("running"), now);
        print_tasks("waiting", pool.get("waiting"), now);
    }
    print_circuits(answer.get("circuits"), now);
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
