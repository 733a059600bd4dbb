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
use weft_engine::{HeldLease, ProgressEvent, when};

use super::run_output::{report, show};
use crate::cli::RunIdArgs;
use crate::client;

/// Continues a run until it finishes, as `weft run` does.
pub(crate) async fn run(args: RunIdArgs) -> Result<ExitCode> {
    let tty = std::io::stderr().is_terminal();
    let outcome = client::with_client(&args.state, async |client| {
        let resuming = client.resume_begin(&args.run).await?;
        if !args.state.json {
            eprintln!("resuming run {} {}", resuming.run, resuming.place);
        }
        for held in &resuming.held {
            say_waiting(held, resuming.now_ms);
        }
        let progress = move |e: &ProgressEvent| show(e, tty);
        client.resume_follow(&resuming, &progress).await
    })
    .await?;
    report(&outcome, args.state.json)
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
