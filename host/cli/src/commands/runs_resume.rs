//! `weft runs resume RUN [--state DIR] [--json]`: continue a run in this process
//! until it finishes, with the progress output and exit code of `weft run`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use weft_engine::Engine;

use super::flow_run::{find_flow, report, show};
use super::project::{find_project_file, load_project};
use super::state::StateStore;
use crate::cli::RunIdArgs;

/// Continues a run until it finishes, as `weft run` does.
pub(crate) async fn run(args: RunIdArgs) -> Result<ExitCode> {
    let project = load_project(&find_project_file()?)?;
    // Look the run up first, for a clear error; the engine opens the store again.
    let state = StateStore::open(&args.state)?;
    let record = state.run(&args.run)?;
    let dir = state.dir.clone();
    state.store.close().await;
    let flow = find_flow(&project, &record.flow_id)?;
    let engine = Engine::open(project, vec![flow], &dir).await?;
    let tty = std::io::stderr().is_terminal();
    if !args.state.json {
        eprintln!("resuming run {} ({})", record.id, record.flow_id);
    }
    let run = engine.resume(&record.id, |e| show(&e, tty)).await?;
    report(&engine, &run, args.state.json)
}
