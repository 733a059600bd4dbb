//! `weft runs artifacts RUN [--state DIR] [--json]`: a run's artifacts.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value};

use super::state::{StateStore, print_json};
use crate::cli::RunIdArgs;

/// Prints a run's artifacts.
pub(crate) fn run(args: RunIdArgs) -> Result<ExitCode> {
    let state = StateStore::open(&args.state)?;
    let run = state.run(&args.run)?;
    let mut artifacts = Map::new();
    for key in state.store.artifact_list(&run.id)? {
        let value = state
            .store
            .artifact_get(&run.id, &key)?
            .unwrap_or(Value::Null);
        artifacts.insert(key, value);
    }
    if args.state.json {
        print_json(&Value::Object(artifacts))?;
    } else if artifacts.is_empty() {
        eprintln!("run {} has no artifacts", run.id);
    } else {
        for (key, value) in &artifacts {
            println!("{key} = {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
