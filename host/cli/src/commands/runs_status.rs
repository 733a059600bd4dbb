//! `weft runs status RUN [--state DIR | --daemon URL] [--json]`

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use weft_store_api::{RunCost, TaskState};

use super::state::{human_duration, preview, print_json, run_duration_ms, utc_time};
use crate::cli::RunIdArgs;
use crate::client::{self, RunView};

/// Characters of a step output shown in the text view.
const PREVIEW: usize = 60;

/// Prints a run and each of its tasks.
pub(crate) async fn run(args: RunIdArgs) -> Result<ExitCode> {
    let view = client::open(&args.state).run_view(&args.run).await?;
    print(view, args.state.json)
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
                    "ready_at_ms": t.ready_at,
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
        let output = match outputs.get(&t.step_id) {
            Some(o) => format!("{} bytes  {}", o.to_string().len(), preview(o, PREVIEW)),
            // A retry's back-off, or a run that waits to start.
            None if t.state == TaskState::Delayed => format!("until {}", utc_time(t.ready_at)),
            None => String::new(),
        };
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
