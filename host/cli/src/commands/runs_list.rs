//! `weft runs list [--flow F] [--status S] [--limit N] [--state DIR | --daemon URL] [--json]`

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use weft_store_api::{RunFilter, RunRecord, RunStatus};

use super::state::{human_duration, print_json, run_duration_ms, utc_time};
use crate::cli::{RunStatusArg, RunsListArgs};
use crate::client;

/// Prints the runs of the state folder (or the daemon's), newest first.
pub(crate) async fn run(args: RunsListArgs) -> Result<ExitCode> {
    let client = client::open(&args.state);
    let filter = RunFilter {
        tenant: None,
        flow_id: args.flow.clone(),
        status: args.status.map(status),
        ..RunFilter::default()
    };
    let runs = client.runs_list(args.limit, &filter).await?;
    print(&runs, &client.place().await?, args.state.json)
}

/// Prints `runs` as a table, or JSON; `place` names where they came from.
fn print(runs: &[RunRecord], place: &str, as_json: bool) -> Result<ExitCode> {
    if as_json {
        let rows: Vec<_> = runs
            .iter()
            .map(|r| {
                json!({
                    "run_id": r.id,
                    "flow": r.flow_id,
                    "flow_version": r.flow_version,
                    "status": r.status.as_str(),
                    "created_ms": r.created_ms,
                    "updated_ms": r.updated_ms,
                    "duration_ms": run_duration_ms(r),
                    "cost_usd": r.cost.usd(),
                })
            })
            .collect();
        print_json(&json!(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        eprintln!("no runs in {place}");
        return Ok(ExitCode::SUCCESS);
    }
    let id_width = runs.iter().map(|r| r.id.len()).max().unwrap_or(0).max(6);
    let flow_width = runs
        .iter()
        .map(|r| r.flow_id.len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:id_width$}  {:flow_width$}  {:9}  {:23}  DURATION",
        "RUN", "FLOW", "STATUS", "CREATED"
    );
    for r in runs {
        println!(
            "{:id_width$}  {:flow_width$}  {:9}  {:23}  {}",
            r.id,
            r.flow_id,
            r.status.as_str(),
            utc_time(r.created_ms),
            human_duration(run_duration_ms(r)),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The store's status for a `--status` value.
fn status(arg: RunStatusArg) -> RunStatus {
    match arg {
        RunStatusArg::Queued => RunStatus::Queued,
        RunStatusArg::Running => RunStatus::Running,
        RunStatusArg::Succeeded => RunStatus::Succeeded,
        RunStatusArg::Failed => RunStatus::Failed,
        RunStatusArg::Cancelled => RunStatus::Cancelled,
    }
}
