//! `weft dlq ls [--since 10m] [--limit N] [--state DIR | --daemon URL] [--json]`:
//! the dead-lettered tasks (those of the last 10 minutes; the N most recent).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use weft_store_api::DeadLetter;

use super::state::{now_ms, print_json, utc_time};
use crate::cli::DlqLsArgs;
use crate::client;

/// Prints the dead-lettered tasks of the state folder (or the daemon's).
pub(crate) async fn run(args: DlqLsArgs) -> Result<ExitCode> {
    let since_ms = args
        .since
        .map(|ago| now_ms().saturating_sub(u64::try_from(ago.as_millis()).unwrap_or(u64::MAX)));
    let client = client::open(&args.state);
    let dead = client.dlq_list(since_ms, args.limit).await?;
    // The daemon filters too; an older one ignores the query.
    let dead = DeadLetter::recent(dead, since_ms, args.limit);
    let filtered = args.since.is_some();
    print(&dead, &client.place().await?, args.state.json, filtered)
}

/// Prints `dead` as a table, or JSON; `place` names where they came from.
fn print(dead: &[DeadLetter], place: &str, as_json: bool, filtered: bool) -> Result<ExitCode> {
    if as_json {
        let rows: Vec<_> = dead
            .iter()
            .map(|d| {
                json!({
                    "task": d.task,
                    "run_id": d.run,
                    "step": d.step,
                    "reason": d.reason,
                    "time_ms": d.time_ms,
                })
            })
            .collect();
        print_json(&json!(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    if dead.is_empty() {
        if filtered {
            eprintln!("no task of the dead-letter queue of {place} is that recent");
        } else {
            eprintln!("the dead-letter queue of {place} is empty");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let run_width = dead.iter().map(|d| d.run.len()).max().unwrap_or(0).max(3);
    let step_width = dead.iter().map(|d| d.step.len()).max().unwrap_or(0).max(4);
    println!(
        "{:>5}  {:run_width$}  {:step_width$}  {:23}  REASON",
        "TASK", "RUN", "STEP", "DEAD-LETTERED"
    );
    for d in dead {
        println!(
            "{:>5}  {:run_width$}  {:step_width$}  {:23}  {}",
            d.task,
            d.run,
            d.step,
            utc_time(d.time_ms),
            d.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}
