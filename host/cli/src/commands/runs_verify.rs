//! `weft runs verify RUN [--state DIR | --daemon URL] [--json]`: recompute a
//! run's hash chain.

use std::process::ExitCode;

use anyhow::Result;
use serde::Deserialize;
use serde_json::{Value, json};

use super::daemon_client::{DaemonClient, field};
use super::state::{StateStore, print_json};
use crate::cli::RunIdArgs;

/// Hex characters of the head hash shown in the text view.
const HEAD: usize = 16;

/// The first event that does not verify.
#[derive(Debug, Deserialize)]
struct BadEvent {
    seq: u64,
    reason: String,
}

/// What verifying a run found.
struct Verified {
    run_id: String,
    events: u64,
    head: String,
    first_bad: Option<BadEvent>,
}

/// Verifies a run's hash chain; exit 1 names the first bad seq.
pub(crate) async fn run(args: RunIdArgs) -> Result<ExitCode> {
    let verified = match DaemonClient::from_flag(args.state.daemon.as_deref()) {
        Some(daemon) => remote(&daemon, &args.run)?,
        None => local(&args).await?,
    };
    print(&verified, args.state.json)
}

/// Verifies in the state folder.
async fn local(args: &RunIdArgs) -> Result<Verified> {
    let state = StateStore::open(&args.state).await?;
    let run = state.run(&args.run).await?;
    let report = state.store.verify(&run.id).await?;
    let head = state
        .store
        .ledger(&run.id)
        .await?
        .last()
        .map(|e| e.hash.clone())
        .unwrap_or_default();
    Ok(Verified {
        run_id: run.id,
        events: report.events,
        head,
        first_bad: report.first_bad.map(|b| BadEvent {
            seq: b.seq,
            reason: b.reason,
        }),
    })
}

/// Verifies through `GET /v1/runs/{id}/verify`; the head from its events.
fn remote(daemon: &DaemonClient, id: &str) -> Result<Verified> {
    let report = daemon.get(&format!("/v1/runs/{id}/verify"), &[])?;
    let events: Vec<Value> = field(
        &daemon.get(&format!("/v1/runs/{id}/events"), &[])?,
        "events",
    )?;
    let head = events
        .last()
        .and_then(|e| e.get("hash"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Verified {
        run_id: field(&report, "run")?,
        events: field(&report, "events")?,
        head,
        first_bad: field(&report, "first_bad")?,
    })
}

/// Prints the verdict; the exit code says whether the chain holds.
fn print(v: &Verified, as_json: bool) -> Result<ExitCode> {
    if as_json {
        print_json(&json!({
            "run_id": v.run_id,
            "verified": v.first_bad.is_none(),
            "events": v.events,
            "head": v.head,
            "first_bad": v.first_bad.as_ref().map(|b| json!({"seq": b.seq, "reason": b.reason})),
        }))?;
    } else if let Some(bad) = &v.first_bad {
        println!(
            "ledger of {} BROKEN at seq {}: {} ({} events verified before it)",
            v.run_id, bad.seq, bad.reason, v.events
        );
    } else {
        let prefix: String = v.head.chars().take(HEAD).collect();
        println!(
            "ledger of {} verified: {} events, head {prefix}",
            v.run_id, v.events
        );
    }
    Ok(if v.first_bad.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
