//! `weft dlq purge TASK --yes [--state DIR | --daemon URL] [--json]`: drop a
//! dead-lettered task for good.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;

use super::daemon_client::DaemonClient;
use super::state::{StateStore, find_dead_letter, now_ms, print_json};
use crate::cli::PurgeArgs;

/// Where the dead letter lives.
enum Holder {
    /// A running daemon.
    Daemon(DaemonClient),
    /// The state folder's store.
    Local(StateStore),
}

/// Purges a dead-lettered task; refuses without `--yes`.
pub(crate) async fn run(args: PurgeArgs) -> Result<ExitCode> {
    let holder = match DaemonClient::from_flag(args.state.daemon.as_deref()) {
        Some(daemon) => Holder::Daemon(daemon),
        None => Holder::Local(StateStore::open(&args.state)?),
    };
    let dead = match &holder {
        Holder::Daemon(daemon) => {
            find_dead_letter(super::dlq_ls::remote(daemon)?, args.task, daemon.url())?
        }
        Holder::Local(state) => state.dead_letter(args.task)?,
    };
    if !args.yes {
        bail!(
            "purging task {} drops step `{}` of run {} for good; run `weft dlq purge {} --yes` to do it",
            dead.task,
            dead.step,
            dead.run,
            dead.task
        );
    }
    match holder {
        Holder::Daemon(daemon) => {
            daemon.delete(&format!("/v1/dlq/{}", dead.task))?;
        }
        Holder::Local(state) => {
            state.store.dlq_purge(dead.task, now_ms()).await?;
            state.store.close().await;
        }
    }
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
