//! `weft dlq ls [--state DIR] [--json]`: the dead-lettered tasks.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::state::{StateStore, print_json, utc_time};
use crate::cli::StateArgs;

/// Prints the dead-lettered tasks.
pub(crate) fn run(args: StateArgs) -> Result<ExitCode> {
    let state = StateStore::open(&args)?;
    let dead = state.store.dlq_list()?;
    if args.json {
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
        eprintln!("the dead-letter queue of {} is empty", state.dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let run_width = dead.iter().map(|d| d.run.len()).max().unwrap_or(0).max(3);
    let step_width = dead.iter().map(|d| d.step.len()).max().unwrap_or(0).max(4);
    println!(
        "{:>5}  {:run_width$}  {:step_width$}  {:23}  REASON",
        "TASK", "RUN", "STEP", "DEAD-LETTERED"
    );
    for d in &dead {
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
