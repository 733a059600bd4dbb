//! `weft dlq requeue TASK [--state DIR | --daemon URL] [--json]`: put a
//! dead-lettered task back in the queue; `weft runs resume RUN` then continues its
//! run (a daemon's workers take it up by themselves).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::daemon_client::DaemonClient;
use super::state::{StateStore, find_dead_letter, now_ms, print_json};
use crate::cli::TaskArgs;

/// Requeues a dead-lettered task and says how to continue its run.
pub(crate) async fn run(args: TaskArgs) -> Result<ExitCode> {
    if let Some(daemon) = DaemonClient::from_flag(args.state.daemon.as_deref()) {
        return remote(&daemon, &args);
    }
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

/// Requeues through `POST /v1/dlq/{task}/requeue`; the daemon's workers run it.
fn remote(daemon: &DaemonClient, args: &TaskArgs) -> Result<ExitCode> {
    let dead = find_dead_letter(super::dlq_ls::remote(daemon)?, args.task, daemon.url())?;
    daemon.post(&format!("/v1/dlq/{}/requeue", dead.task), None)?;
    if args.state.json {
        print_json(&json!({
            "task": dead.task,
            "run_id": dead.run,
            "step": dead.step,
            "requeued": true,
        }))?;
    } else {
        println!(
            "requeued task {} (step `{}` of run {}); the daemon runs it again",
            dead.task, dead.step, dead.run
        );
    }
    Ok(ExitCode::SUCCESS)
}
