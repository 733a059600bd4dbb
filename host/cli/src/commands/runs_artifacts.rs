//! `weft runs artifacts RUN [KEY] [--state DIR | --daemon URL] [--json]`: a
//! run's artifacts (`key = value` lines, or one JSON object), or the value of
//! one (as JSON).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::state::print_json;
use crate::cli::RunsArtifactsArgs;
use crate::client;

/// Prints a run's artifacts, or the one named.
pub(crate) async fn run(args: RunsArtifactsArgs) -> Result<ExitCode> {
    let client = client::open(&args.state);
    if let Some(key) = &args.key {
        print_json(&client.artifact(&args.run, key).await?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (run, artifacts) = client.artifacts(&args.run).await?;
    if args.state.json {
        print_json(&Value::Object(artifacts))?;
    } else if artifacts.is_empty() {
        eprintln!("run {run} has no artifacts");
    } else {
        for (key, value) in &artifacts {
            println!("{key} = {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
