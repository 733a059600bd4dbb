//! `weft runs verify RUN [--state DIR] [--json]`: recompute a run's hash chain.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::state::{StateStore, print_json};
use crate::cli::RunIdArgs;

/// Hex characters of the head hash shown in the text view.
const HEAD: usize = 16;

/// Verifies a run's hash chain; exit 1 names the first bad seq.
pub(crate) fn run(args: RunIdArgs) -> Result<ExitCode> {
    let state = StateStore::open(&args.state)?;
    let run = state.run(&args.run)?;
    let report = state.store.verify(&run.id)?;
    let head = state
        .store
        .ledger(&run.id)?
        .last()
        .map(|e| e.hash.clone())
        .unwrap_or_default();
    if args.state.json {
        print_json(&json!({
            "run_id": run.id,
            "verified": report.is_ok(),
            "events": report.events,
            "head": head,
            "first_bad": report.first_bad.as_ref().map(|b| json!({"seq": b.seq, "reason": b.reason})),
        }))?;
    } else if let Some(bad) = &report.first_bad {
        println!(
            "ledger of {} BROKEN at seq {}: {} ({} events verified before it)",
            run.id, bad.seq, bad.reason, report.events
        );
    } else {
        let prefix: String = head.chars().take(HEAD).collect();
        println!(
            "ledger of {} verified: {} events, head {prefix}",
            run.id, report.events
        );
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
