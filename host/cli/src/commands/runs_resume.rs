//! `weft runs resume RUN [--state DIR | --daemon URL] [--json]`: continue a run
//! until it finishes (or cannot go on), with the progress output and exit code
//! of `weft run`.
//!
//! Locally the run's flow is opened in this process and its workers run it.
//! Through a daemon, whose workers already run every ready task, the daemon
//! hands back the leases that ran out at once (`POST /v1/runs/{id}/resume`) and
//! this command follows the run's ledger until it settles.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use weft_engine::Engine;
use weft_store::{BadEvent, DeadLetter, RunRecord, RunStatus, VerifyReport};

use super::daemon_client::{DaemonClient, field, segment};
use super::flow_run::find_flow;
use super::ledger_progress::LedgerProgress;
use super::project::{find_project_file, load_project};
use super::run_output::{Outcome, report, show};
use super::runs_tail::{FOLLOW_WAIT_SECS, RemotePage};
use super::state::StateStore;
use crate::cli::RunIdArgs;

/// Continues a run until it finishes, as `weft run` does.
pub(crate) async fn run(args: RunIdArgs) -> Result<ExitCode> {
    let tty = std::io::stderr().is_terminal();
    if let Some(daemon) = DaemonClient::from_flag(args.state.daemon.as_deref()) {
        let outcome = remote(&daemon, &args, tty)?;
        return report(&outcome, args.state.json);
    }
    let project = load_project(&find_project_file()?)?;
    // Look the run up first, for a clear error; the engine opens the store again.
    let state = StateStore::open(&args.state)?;
    let record = state.run(&args.run)?;
    let dir = state.dir.clone();
    state.store.close().await;
    let flow = find_flow(&project, &record.flow_id)?;
    let engine = Engine::open(project, vec![flow], &dir).await?;
    if !args.state.json {
        eprintln!("resuming run {} ({})", record.id, record.flow_id);
    }
    let run = engine.resume(&record.id, |e| show(&e, tty)).await?;
    report(&Outcome::local(&engine, run)?, args.state.json)
}

/// Resumes the run on the daemon and shows its progress until it has finished
/// or has no open task left (a dead-lettered step waits for an operator).
fn remote(daemon: &DaemonClient, args: &RunIdArgs, tty: bool) -> Result<Outcome> {
    let id = segment(&args.run);
    let answer = daemon.post(&format!("/v1/runs/{id}/resume"), None)?.1;
    let mut after: u64 = field(&answer, "last_seq")?;
    let status: RunStatus = field(&answer, "status")?;
    let mut moving = !status.is_final() && field::<u64>(&answer, "open_tasks")? > 0;
    if !args.state.json {
        eprintln!(
            "resuming run {} on the daemon at {}",
            args.run,
            daemon.url()
        );
    }
    let mut progress = LedgerProgress::default();
    while moving {
        let page = RemotePage::get(daemon, &args.run, after, FOLLOW_WAIT_SECS)?;
        for event in &page.events {
            after = event.seq;
            if let Some(shown) = progress.event(&args.run, event) {
                show(&shown, tty);
            }
        }
        moving = !page.status.is_final() && page.open_tasks > 0;
    }
    outcome(daemon, &args.run)
}

/// The run, its ledger verification and its dead letters, from the daemon.
fn outcome(daemon: &DaemonClient, run_id: &str) -> Result<Outcome> {
    let id = segment(run_id);
    let run: RunRecord = field(&daemon.get(&format!("/v1/runs/{id}"), &[])?, "run")?;
    let verified = daemon.get(&format!("/v1/runs/{id}/verify"), &[])?;
    let first_bad = match verified.get("first_bad") {
        Some(bad) if !bad.is_null() => Some(BadEvent {
            seq: field(bad, "seq")?,
            reason: field(bad, "reason")?,
        }),
        _ => None,
    };
    let verify = VerifyReport {
        run: run.id.clone(),
        events: field(&verified, "events")?,
        first_bad,
    };
    let dead: Vec<DeadLetter> = field(&daemon.get("/v1/dlq", &[])?, "dead_letters")?;
    let dead = dead.into_iter().filter(|d| d.run == run.id).collect();
    Ok(Outcome { run, verify, dead })
}
