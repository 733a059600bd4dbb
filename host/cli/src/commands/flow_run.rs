//! `weft run FLOW [-i JSON|@file] [--idempotency-key K] [--state DIR] [--json]`

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use weft_engine::Engine;
use weft_flow::{CompiledFlow, ProjectConfig, load_flow, load_flow_dir};

use super::project::{find_project_file, flows_dir, load_project};
use super::run_output::{Outcome, report, show};
use super::run_progress::Live;
use crate::cli::FlowRunArgs;

pub(crate) async fn run(args: FlowRunArgs) -> Result<ExitCode> {
    let project = load_project(&find_project_file()?)?;
    let flow = find_flow(&project, &args.flow)?;
    let flow_id = flow.id.clone();
    let input: Value = match &args.input {
        Some(text) => serde_json::from_str(&super::json_arg("the input", text)?)?,
        None => json!({}),
    };
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| project.state_dir.clone());
    let view_of = flow.clone();
    let engine = Engine::open(project, vec![flow], &state).await?;
    let submitted = engine.submit(&flow_id, input, args.idempotency_key).await?;
    let tty = std::io::stderr().is_terminal();
    if tty && !args.json {
        // On a terminal: the steps redrawn in place.
        let live = Live::new(&submitted.run_id, &view_of);
        let ticker = live.tick();
        let run = engine
            .run_to_completion(&submitted.run_id, |e| live.event(&e))
            .await;
        ticker.abort();
        let run = run?;
        live.finish(run.status);
        return report(&Outcome::local(&engine, run).await?, args.json);
    }
    if !args.json {
        eprintln!("run {} ({flow_id})", submitted.run_id);
    }
    let run = engine
        .run_to_completion(&submitted.run_id, |e| show(&e, tty))
        .await?;
    report(&Outcome::local(&engine, run).await?, args.json)
}

/// The flow named by `arg`: a flow file, or the id of a flow in flows/.
pub(crate) fn find_flow(project: &ProjectConfig, arg: &str) -> Result<CompiledFlow> {
    let path = Path::new(arg);
    if path.is_file() {
        return load_flow(path, project).map_err(|e| anyhow::anyhow!("{e}"));
    }
    let set = load_flow_dir(&flows_dir(project), project);
    if let Some(flow) = set.flows.into_iter().find(|f| f.id == arg) {
        return Ok(flow);
    }
    if let Some(e) = set.errors.first() {
        bail!("flow `{arg}` not found; a flow file has errors:\n{e}");
    }
    Err(anyhow::anyhow!(
        "no flow `{arg}` in {}",
        flows_dir(project).display()
    ))
    .context("run `weft validate` to list the flows")
}
