//! `weft queue stats [--state DIR | --daemon URL] [--json]`: depth, ready tasks
//! per pool, inflight, delayed, dead letters and the oldest ready task's lag.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;
use weft_server::queue_stats_json;

use super::daemon_client::DaemonClient;
use super::state::{StateStore, human_duration, now_ms, print_json};
use crate::cli::StateArgs;

/// Prints the queue figures of the daemon, or of the state folder's store.
pub(crate) async fn run(args: StateArgs) -> Result<ExitCode> {
    let stats = match DaemonClient::from_flag(args.daemon.as_deref()) {
        Some(daemon) => daemon.get("/v1/queue/stats", &[])?,
        None => {
            let state = StateStore::open(&args).await?;
            queue_stats_json(&state.store.queue_stats(now_ms()).await?)
        }
    };
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
