//! `weft runs cancel RUN [--reason TEXT] [--state DIR | --daemon URL]
//! [--json]`: stop a run that is no longer wanted.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::state::print_json;
use crate::cli::RunsCancelArgs;
use crate::client;

/// Cancels the run and prints how it ended.
pub(crate) async fn run(args: RunsCancelArgs) -> Result<ExitCode> {
    let state = &args.run.state;
    let reason = args.reason.as_deref();
    let run = client::with_client(state, async |client| {
        client.cancel(&args.run.run, reason).await
    })
    .await?;
    let error = run.error.clone().unwrap_or_default();
    if state.json {
        print_json(&json!({
            "run_id": run.id,
            "status": run.status.as_str(),
            "error": error,
        }))?;
    } else {
        println!("run {} {} ({error})", run.id, run.status.as_str());
    }
    Ok(ExitCode::SUCCESS)
}
