//! `weft queue next [--pool P] [--project P] [--state DIR | --daemon URL]
//! [--json]`: the task the next lease would take (among the runs of project
//! `P`: those whose id has that prefix): a peek, nothing is leased or changed.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use weft_store_api::{NextTask, TaskState};

use super::state::{human_duration, print_json, utc_time};
use crate::cli::QueueNextArgs;
use crate::client;

/// Prints the next task of the daemon's queue, or of the state folder's.
pub(crate) async fn run(args: QueueNextArgs) -> Result<ExitCode> {
    let pool = args.pool.as_deref().filter(|p| !p.is_empty());
    let project = args.project.as_deref().filter(|p| !p.is_empty());
    let next: Option<NextTask> = client::open(&args.state).queue_next(pool, project).await?;
    if args.state.json {
        print_json(&json!(next))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(next) = next else {
        let of_project = project.map_or(String::new(), |p| format!(" for project {p}"));
        match pool {
            Some(pool) => println!("nothing is ready in pool {pool}{of_project}"),
            None => println!("nothing is ready{of_project}"),
        }
        return Ok(ExitCode::SUCCESS);
    };
    let why = match next.state {
        TaskState::Delayed => " (a retry whose time has come)",
        TaskState::Leased => " (its lease ran out; it is handed out again)",
        _ => "",
    };
    println!("task      {} (attempt {}){why}", next.task, next.attempt);
    println!("run       {}", next.run);
    println!("flow      {}", next.flow);
    println!("step      {}", next.step);
    println!("pool      {}", next.pool);
    println!("priority  {}", next.priority);
    println!(
        "ready     since {} (lag {})",
        utc_time(next.ready_since_ms),
        human_duration(next.lag_ms)
    );
    Ok(ExitCode::SUCCESS)
}
