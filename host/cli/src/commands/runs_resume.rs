//! `weft runs resume RUN [--state DIR | --daemon URL] [--json]`: continue a run
//! until it finishes (or cannot go on), with the progress output and exit code
//! of `weft run`.
//!
//! Locally the run's flow is opened in this process and its workers run it.
//! Through a daemon, whose workers already run every ready task, the daemon
//! hands back the leases that ran out at once (`POST /v1/runs/{id}/resume`) and
//! this command follows the run's ledger until it settles.
//!
//! A task whose lease has not run out yet (its worker died holding it) comes
//! back only when it does: the command says so first, with how long that is
//! (`waiting for the lease of step `a` (task 3, held by …) to run out in 24.5s
//! at 14:03:07 UTC`).

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use serde::Deserialize;
use weft_engine::{Engine, HeldLease, when};
use weft_store_api::{BadEvent, DeadLetter, RunRecord, RunStatus, VerifyReport};

use super::daemon_client::{DaemonClient, field, segment};
use super::flow_run::find_flow;
use super::ledger_progress::LedgerProgress;
use super::project::{find_project_file, load_project};
use super::run_output::{Outcome, report, show};
use super::runs_tail::{FOLLOW_WAIT_SECS, RemotePage};
use super::state::{StateStore, now_ms};
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
    let state = StateStore::open(&args.state).await?;
    let record = state.run(&args.run).await?;
    let dir = state.dir.clone();
    state.store.close().await;
    // The file is free once the last handle is gone.
    drop(state);
    let flow = find_flow(&project, &record.flow_id)?;
    let engine = Engine::open(project, vec![flow], &dir).await?;
    if !args.state.json {
        eprintln!("resuming run {} ({})", record.id, record.flow_id);
    }
    let now = engine.now_ms();
    for held in engine.held_leases(&record.id).await? {
        say_waiting(&held, now);
    }
    let run = engine.resume(&record.id, |e| show(&e, tty)).await?;
    report(&Outcome::local(&engine, run).await?, args.state.json)
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
    // The daemon's clock decides when a lease runs out: count from its answer.
    let now = now_ms();
    let held: Vec<RemoteHeld> = answer
        .get("leases_held")
        .cloned()
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or_default();
    for h in held {
        let lease = HeldLease {
            task: h.task,
            step: h.step,
            owner: h.owner,
            expires_ms: now.saturating_add(h.expires_in_ms),
        };
        say_waiting(&lease, now);
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

/// A lease the daemon says the run waits for (`leases_held` of `POST
/// /v1/runs/{id}/resume`).
#[derive(Debug, Deserialize)]
struct RemoteHeld {
    task: u64,
    step: String,
    owner: String,
    expires_in_ms: u64,
}

/// Says, on stderr, that the run waits for `held` to run out, and how long.
fn say_waiting(held: &HeldLease, now: u64) {
    eprintln!(
        "waiting for the lease of step `{}` (task {}, held by {}) to run out {}; then the task runs again",
        held.step,
        held.task,
        held.owner,
        when(held.expires_ms, now)
    );
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
