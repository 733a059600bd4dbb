//! `weft queue stats [--state DIR | --daemon URL] [--json]`: depth, ready tasks
//! per pool, inflight, delayed, dead letters and the oldest ready task's lag.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::state::{human_duration, print_json};
use crate::cli::StateArgs;
use crate::client;

/// Prints the queue figures of the daemon, or of the state folder's store.
pub(crate) async fn run(args: StateArgs) -> Result<ExitCode> {
    let stats = client::open(&args).queue_stats().await?;
    if args.json {
        print_json(&stats)?;
    } else {
        print_text(&stats);
    }
    Ok(ExitCode::SUCCESS)
}

/// One figure per line.
fn print_text(stats: &Value) {
    let number = |key: &str| stats.get(key).and_then(Value::as_u64).unwrap_or(0);
    println!("depth     {} ready", number("depth"));
    if let Some(pools) = stats.get("ready_by_pool").and_then(Value::as_object) {
        for (pool, n) in pools {
            println!("  pool {pool}: {}", n.as_u64().unwrap_or(0));
        }
    }
    println!("inflight  {}", number("inflight"));
    println!(
        "delayed   {} ({} due)",
        number("delayed"),
        number("delayed_due")
    );
    println!("dlq       {}", number("dlq"));
    let lag = stats
        .get("oldest_ready_lag_seconds")
        .and_then(Value::as_f64)
        .map_or_else(
            || "- (nothing ready)".to_owned(),
            |secs| human_duration((secs * 1000.0) as u64),
        );
    println!("lag       {lag} (oldest ready task)");
}
