//! `weft run FLOW [-i JSON|@file] [--idempotency-key K] [--state DIR] [--json]`

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use weft_engine::{Engine, ProgressEvent};
use weft_flow::{CompiledFlow, ProjectConfig, load_flow, load_flow_dir};
use weft_store::{RunRecord, RunStatus};

use super::project::{find_project_file, flows_dir, load_project};
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
    let engine = Engine::open(project, vec![flow], &state).await?;
    let submitted = engine.submit(&flow_id, input, args.idempotency_key).await?;
    let tty = std::io::stderr().is_terminal();
    if !args.json {
        eprintln!("run {} ({flow_id})", submitted.run_id);
    }
    let run = engine
        .run_to_completion(&submitted.run_id, |e| show(&e, tty))
        .await?;
    report(&engine, &run, args.json)
}

/// Prints the outcome of a run that `run_to_completion` returned (its output, or
/// its errors and dead letters, and the ledger verdict); the exit code is success
/// only for a succeeded run with an intact ledger. Shared with `weft runs resume`.
pub(crate) fn report(engine: &Engine, run: &RunRecord, json: bool) -> Result<ExitCode> {
    let verify = engine.store().verify(&run.id)?;
    let dead = engine
        .store()
        .dlq_list()?
        .into_iter()
        .filter(|d| d.run == run.id)
        .collect::<Vec<_>>();
    if json {
        let report = json!({
            "run_id": run.id,
            "flow": run.flow_id,
            "status": if dead.is_empty() { run.status.as_str() } else { "dead-lettered" },
            "output": run.output,
            "error": run.error,
            "dead_letters": dead.iter().map(|d| json!({"step": d.step, "reason": d.reason})).collect::<Vec<_>>(),
            "ledger": {
                "verified": verify.is_ok(),
                "events": verify.events,
                "first_bad": verify.first_bad.as_ref().map(|b| format!("{b:?}")),
            },
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match (&run.status, &run.output) {
            (RunStatus::Succeeded, Some(output)) => {
                println!("{}", serde_json::to_string_pretty(output)?);
            }
            _ => {
                for d in &dead {
                    eprintln!("error: step `{}` dead-lettered: {}", d.step, d.reason);
                }
                if let Some(error) = &run.error {
                    eprintln!("error: run {} {}: {error}", run.id, run.status);
                }
            }
        }
        let verdict = if verify.is_ok() { "verified" } else { "BROKEN" };
        eprintln!(
            "run {} {}; ledger {verdict} ({} events)",
            run.id,
            if dead.is_empty() {
                run.status.as_str()
            } else {
                "dead-lettered"
            },
            verify.events
        );
    }
    let ok = run.status == RunStatus::Succeeded && verify.is_ok();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

/// One progress line on stderr: with symbols on a terminal, plain otherwise.
pub(crate) fn show(event: &ProgressEvent, tty: bool) {
    let line = match (event, tty) {
        (ProgressEvent::StepStarted { step, attempt, .. }, true) => {
            format!("  \u{25b6} {step} (attempt {attempt})")
        }
        (ProgressEvent::StepStarted { step, attempt, .. }, false) => {
            format!("step {step} started (attempt {attempt})")
        }
        (
            ProgressEvent::StepSucceeded {
                step, elapsed_ms, ..
            },
            true,
        ) => {
            format!("  \u{2714} {step} ({elapsed_ms} ms)")
        }
        (
            ProgressEvent::StepSucceeded {
                step, elapsed_ms, ..
            },
            false,
        ) => {
            format!("step {step} succeeded ({elapsed_ms} ms)")
        }
        (
            ProgressEvent::StepFailed {
                step,
                error,
                decision,
                ..
            },
            true,
        ) => {
            format!("  \u{2718} {step}: {error} \u{2192} {decision}")
        }
        (
            ProgressEvent::StepFailed {
                step,
                error,
                decision,
                ..
            },
            false,
        ) => {
            format!("step {step} failed: {error}; {decision}")
        }
        (
            ProgressEvent::ModelCalled {
                step,
                call_index,
                from_journal,
                model,
                input_tokens,
                output_tokens,
                ..
            },
            tty,
        ) => {
            let how = if *from_journal {
                "from the journal, no adapter call".to_owned()
            } else {
                format!("{input_tokens}+{output_tokens} tokens, journaled")
            };
            if tty {
                format!("    \u{2026} {step}: model call {call_index} \u{2192} {model} ({how})")
            } else {
                format!("step {step} model call {call_index} answered by {model} ({how})")
            }
        }
        (ProgressEvent::RunFinished { status, .. }, _) => format!("run {status}"),
    };
    eprintln!("{line}");
}
