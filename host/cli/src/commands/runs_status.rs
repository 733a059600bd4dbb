//! `weft runs status RUN [--state DIR | --daemon URL] [--json]`

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Value, json};
use weft_store_api::{DeadLetter, RunCost, RunRecord, TaskRecord};

use super::daemon_client::{DaemonClient, field};
use super::state::{StateStore, human_duration, preview, print_json, run_duration_ms, utc_time};
use crate::cli::RunIdArgs;

/// Characters of a step output shown in the text view.
const PREVIEW: usize = 60;

/// A run with its tasks, step outputs and dead letters.
struct RunView {
    run: RunRecord,
    tasks: Vec<TaskRecord>,
    outputs: BTreeMap<String, Value>,
    dead: Vec<DeadLetter>,
}

/// Prints a run and each of its tasks.
pub(crate) async fn run(args: RunIdArgs) -> Result<ExitCode> {
    let view = match DaemonClient::from_flag(args.state.daemon.as_deref()) {
        Some(daemon) => remote(&daemon, &args.run)?,
        None => local(&args).await?,
    };
    print(view, args.state.json)
}

/// The run from the state folder.
async fn local(args: &RunIdArgs) -> Result<RunView> {
    let state = StateStore::open(&args.state).await?;
    let run = state.run(&args.run).await?;
    let tasks = state.store.tasks_of(&run.id).await?;
    let outputs = state.store.step_outputs(&run.id).await?;
    let dead = state
        .store
        .dlq_list()
        .await?
        .into_iter()
        .filter(|d| d.run == run.id)
        .collect();
    Ok(RunView {
        run,
        tasks,
        outputs,
        dead,
    })
}

/// The run, its tasks, outputs and dead letters from `GET /v1/runs/{id}`.
fn remote(daemon: &DaemonClient, id: &str) -> Result<RunView> {
    let answer = daemon.get(&format!("/v1/runs/{id}"), &[])?;
    Ok(RunView {
        run: field(&answer, "run")?,
        tasks: field(&answer, "tasks")?,
        outputs: field(&answer, "outputs")?,
        dead: field(&answer, "dead_letters")?,
    })
}

/// Prints the run as text or JSON.
fn print(view: RunView, as_json: bool) -> Result<ExitCode> {
    let RunView {
        run,
        tasks,
        outputs,
        dead,
    } = view;
    if as_json {
        let tasks: Vec<_> = tasks
            .iter()
            .map(|t| {
                let output = outputs.get(&t.step_id);
                json!({
                    "task": t.id,
                    "step": t.step_id,
                    "state": t.state.as_str(),
                    "attempt": t.attempt,
                    "pool": t.pool,
                    "error": t.error,
                    "output_bytes": output.map(|o| o.to_string().len()),
                    "output": output,
                })
            })
            .collect();
        print_json(&json!({
            "run_id": run.id,
            "flow": run.flow_id,
            "flow_version": run.flow_version,
            "tenant": run.tenant,
            "status": run.status.as_str(),
            "created_ms": run.created_ms,
            "updated_ms": run.updated_ms,
            "duration_ms": run_duration_ms(&run),
            "input": run.input,
            "output": run.output,
            "error": run.error,
            "cost_usd": run.cost.usd(),
            "cost": run.cost,
            "tasks": tasks,
            "dead_letters": dead.iter().map(|d| json!({"task": d.task, "step": d.step, "reason": d.reason})).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("run      {}", run.id);
    println!("flow     {} (version {})", run.flow_id, run.flow_version);
    println!("status   {}", run.status);
    println!("created  {}", utc_time(run.created_ms));
    println!("duration {}", human_duration(run_duration_ms(&run)));
    println!("cost     {}", cost_line(&run.cost));
    println!("input    {}", preview(&run.input, 100));
    if let Some(output) = &run.output {
        println!("output   {}", preview(output, 100));
    }
    if let Some(error) = &run.error {
        println!("error    {error}");
    }
    println!();
    let step_width = tasks
        .iter()
        .map(|t| t.step_id.len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:>5}  {:step_width$}  {:9}  {:>7}  OUTPUT",
        "TASK", "STEP", "STATE", "ATTEMPT"
    );
    for t in &tasks {
        let output = outputs.get(&t.step_id).map_or_else(String::new, |o| {
            format!("{} bytes  {}", o.to_string().len(), preview(o, PREVIEW))
        });
        println!(
            "{:>5}  {:step_width$}  {:9}  {:>7}  {output}",
            t.id,
            t.step_id,
            t.state.as_str(),
            t.attempt
        );
        if let Some(error) = &t.error {
            println!("{:>5}  {:step_width$}  error: {error}", "", "");
        }
    }
    for d in &dead {
        println!(
            "dead letter: task {} (step `{}`): {}; `weft dlq requeue {}` then `weft runs resume {}`",
            d.task, d.step, d.reason, d.task, run.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A run's cost in one line: `$0.022000 (2 model calls, 120 input + 36 output
/// tokens)`.
fn cost_line(cost: &RunCost) -> String {
    let calls = match cost.calls {
        1 => "1 model call".to_owned(),
        n => format!("{n} model calls"),
    };
    format!(
        "{:#} ({calls}, {} input + {} output tokens)",
        cost.cost(),
        cost.input_tokens,
        cost.output_tokens
    )
}
