//! `weft validate [FILES…]`

use std::process::ExitCode;

use anyhow::Result;
use weft_engine::Engine;
use weft_flow::{Diagnostics, LoadError, load_flow, load_flow_dir};

use super::project::{find_project_file, flows_dir, load_project};
use crate::cli::ValidateArgs;

pub(crate) async fn run(args: ValidateArgs) -> Result<ExitCode> {
    let project_file = find_project_file()?;
    let project = match load_project(&project_file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("\nerror: {} is invalid", project_file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let set = if args.files.is_empty() {
        load_flow_dir(&flows_dir(&project), &project)
    } else {
        let mut set = weft_flow::FlowSet::default();
        for file in &args.files {
            match load_flow(file, &project) {
                Ok(flow) => set.flows.push(flow),
                Err(e) => set.errors.push(e),
            }
        }
        set
    };
    let mut problems = 0;
    for error in &set.errors {
        problems += match error {
            LoadError::Invalid(d) => d.0.len(),
            LoadError::Read { .. } => 1,
        };
        eprintln!("{error}\n");
    }
    let runtime = super::standalone_runtime()?;
    let kinds: Diagnostics = Engine::check_plugins(&runtime, &project, &set.flows).await;
    problems += kinds.0.len();
    if !kinds.0.is_empty() {
        eprintln!("{kinds}\n");
    }
    if problems > 0 {
        let s = if problems == 1 { "" } else { "s" };
        eprintln!("error: {problems} error{s} found");
        return Ok(ExitCode::FAILURE);
    }
    for flow in &set.flows {
        println!(
            "ok: {} ({}, {} steps)",
            flow.id,
            flow.file,
            flow.steps.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
