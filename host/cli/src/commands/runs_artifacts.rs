//! `weft runs artifacts RUN [KEY] [--state DIR | --daemon URL] [--json]`: a
//! run's artifacts (`key = value` lines, or one JSON object), or the value of
//! one (as JSON).

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use super::daemon_client::{DaemonClient, field, segment};
use super::state::{StateStore, print_json};
use crate::cli::RunsArtifactsArgs;

/// Prints a run's artifacts, or the one named.
pub(crate) async fn run(args: RunsArtifactsArgs) -> Result<ExitCode> {
    let daemon = DaemonClient::from_flag(args.state.daemon.as_deref());
    if let Some(key) = &args.key {
        let value = match &daemon {
            Some(daemon) => {
                let path = format!("/v1/runs/{}/artifacts/{}", segment(&args.run), segment(key));
                field(&daemon.get(&path, &[])?, "value")?
            }
            None => local_one(&args, key).await?,
        };
        print_json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (run, artifacts) = match &daemon {
        Some(daemon) => {
            let path = format!("/v1/runs/{}/artifacts", segment(&args.run));
            let answer = daemon.get(&path, &[])?;
            (args.run.clone(), field(&answer, "artifacts")?)
        }
        None => local_all(&args).await?,
    };
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

/// The run id and every artifact, from the state folder.
async fn local_all(args: &RunsArtifactsArgs) -> Result<(String, Map<String, Value>)> {
    let state = StateStore::open(&args.state).await?;
    let run = state.run(&args.run).await?;
    let mut artifacts = Map::new();
    for key in state.store.artifact_list(&run.id).await? {
        let value = state
            .store
            .artifact_get(&run.id, &key)
            .await?
            .unwrap_or(Value::Null);
        artifacts.insert(key, value);
    }
    Ok((run.id, artifacts))
}

/// One artifact from the state folder; a missing one names the keys there are.
async fn local_one(args: &RunsArtifactsArgs, key: &str) -> Result<Value> {
    let state = StateStore::open(&args.state).await?;
    let run = state.run(&args.run).await?;
    if let Some(value) = state.store.artifact_get(&run.id, key).await? {
        return Ok(value);
    }
    let keys = state.store.artifact_list(&run.id).await?;
    if keys.is_empty() {
        bail!("run `{}` has no artifact `{key}`; it has none", run.id);
    }
    bail!(
        "run `{}` has no artifact `{key}`; it has {}",
        run.id,
        keys.join(", ")
    )
}
