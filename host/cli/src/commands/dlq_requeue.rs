//! `weft dlq requeue TARGET [--all] [--state DIR | --daemon URL] [--json]`: put
//! dead-lettered tasks back in the queue: a task id, a run id or a glob over
//! run ids (`'p1-*'`; `--all` when it matches more than one), or `--all` alone
//! for every one. `weft runs resume RUN` then continues each run (a daemon's
//! workers take them up by themselves).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Value, json};
use weft_store_api::DeadLetter;

use super::dlq_select::{Target, select};
use super::state::print_json;
use crate::cli::DlqRequeueArgs;
use crate::client;

/// Requeues the dead letters TARGET names and says how to continue their runs.
pub(crate) async fn run(args: DlqRequeueArgs) -> Result<ExitCode> {
    let target = Target::parse(args.target.as_deref(), args.all, "requeue")?;
    let (done, local) = client::with_client(&args.state, async |client| {
        let dead = client.dlq_list(None, None).await?;
        let place = client.place().await?;
        let chosen = select(dead, &target, args.all, true, &place, "requeue")?;
        for dead in &chosen {
            client.dlq_requeue(dead.task).await?;
        }
        Ok((chosen, !client.runs_requeued()))
    })
    .await?;
    if args.state.json {
        let rows: Vec<Value> = done.iter().map(|d| row(d, local)).collect();
        match (target.is_one_task(), rows.as_slice()) {
            (true, [one]) => print_json(one)?,
            _ => print_json(&json!(rows))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    if done.is_empty() {
        eprintln!("the dead-letter queue is empty: nothing to requeue");
    }
    for d in &done {
        let then = if local {
            ""
        } else {
            "; the daemon runs it again"
        };
        println!(
            "requeued task {} (step `{}` of run {}){then}",
            d.task, d.step, d.run
        );
    }
    if local {
        let mut runs: Vec<&str> = done.iter().map(|d| d.run.as_str()).collect();
        runs.sort_unstable();
        runs.dedup();
        for run in runs {
            println!("continue the run with: weft runs resume {run}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One requeued task, as `--json` shows it.
fn row(d: &DeadLetter, local: bool) -> Value {
    let mut row = json!({
        "task": d.task,
        "run_id": d.run,
        "step": d.step,
        "requeued": true,
    });
    if local {
        row["next"] = json!(format!("weft runs resume {}", d.run));
    }
    row
}
