//! `weft dlq purge TASK --yes [--state DIR] [--json]`: drop a dead-lettered task
//! for good.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;

use super::state::{StateStore, now_ms, print_json};
use crate::cli::PurgeArgs;

/// Purges a dead-lettered task; refuses without `--yes`.
pub(crate) async fn run(args: PurgeArgs) -> Result<ExitCode> {
    let state = StateStore::open(&args.state)?;
    let dead = state.dead_letter(args.task)?;
    if !args.yes {
        bail!(
            "purging task {} drops step `{}` of run {} for good; run `weft dlq purge {} --yes` to do it",
            dead.task,
            dead.step,
            dead.run,
            dead.task
        );
    }
    state.store.dlq_purge(dead.task, now_ms()).await?;
    state.store.close().await;
    if args.state.json {
        print_json(
            &json!({"task": dead.task, "run_id": dead.run, "step": dead.step, "purged": true}),
        )?;
    } else {
        println!(
            "purged task {} (step `{}` of run {})",
            dead.task, dead.step, dead.run
        );
    }
    Ok(ExitCode::SUCCESS)
}
