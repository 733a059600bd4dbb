//! `weft dlq requeue TASK [--state DIR] [--json]`: put a dead-lettered task back
//! in the queue; `weft runs resume RUN` then continues its run.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::state::{StateStore, now_ms, print_json};
use crate::cli::TaskArgs;

/// Requeues a dead-lettered task and says how to continue its run.
pub(crate) async fn run(args: TaskArgs) -> Result<ExitCode> {
    let state = StateStore::open(&args.state)?;
    let dead = state.dead_letter(args.task)?;
    state.store.dlq_requeue(dead.task, now_ms()).await?;
    state.store.close().await;
    if args.state.json {
        print_json(&json!({
            "task": dead.task,
            "run_id": dead.run,
            "step": dead.step,
            "requeued": true,
            "next": format!("weft runs resume {}", dead.run),
        }))?;
    } else {
        println!(
            "requeued task {} (step `{}` of run {})",
            dead.task, dead.step, dead.run
        );
        println!("continue the run with: weft runs resume {}", dead.run);
    }
    Ok(ExitCode::SUCCESS)
}
