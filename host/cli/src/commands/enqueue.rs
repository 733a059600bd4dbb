//! `weft enqueue FLOW [-i JSON|@file] [--idempotency-key K] [--priority P]
//! [--at TIME | --delay DURATION] [--wait SECONDS] [--daemon URL] [--json]`:
//! submit a run to the daemon.
//! FLOW is a flow id, or a flow file whose `id` is submitted.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use weft_store_api::{RunRecord, RunStatus};

use super::json_arg;
use super::state::print_json;
use crate::cli::EnqueueArgs;
use crate::client::http::{DaemonClient, field, needs_daemon};

/// Submits the run; with `--wait`, the exit code says whether it succeeded.
pub(crate) fn run(args: EnqueueArgs) -> Result<ExitCode> {
    let Some(daemon) = DaemonClient::from_flag(args.out.daemon.as_deref()) else {
        return Err(needs_daemon(
            "weft enqueue",
            ", or run the flow in this process with `weft run FLOW`",
        ));
    };
    let input: Value = match &args.input {
        Some(text) => serde_json::from_str(&json_arg("the input", text)?)?,
        None => json!({}),
    };
    let flow = flow_id(&args.flow)?;
    let mut body = json!({"flow": flow, "input": input});
    if let Some(key) = &args.idempotency_key {
        body["idempotency_key"] = json!(key);
    }
    if let Some(priority) = args.priority {
        body["priority"] = json!(priority);
    }
    if let Some(at) = start_time(args.at.as_deref(), args.delay.as_deref())? {
        body["not_before"] = json!(at);
    }
    let (_, submitted) = daemon.post("/v1/runs", Some(&body))?;
    let run_id: String = field(&submitted, "run_id")?;
    let created: bool = field(&submitted, "created")?;
    let Some(wait) = args.wait else {
        if args.out.json {
            print_json(&json!({"run_id": run_id, "created": created}))?;
        } else if created {
            println!("{run_id}");
        } else {
            println!("{run_id} (already there: the idempotency key names this run)");
        }
        return Ok(ExitCode::SUCCESS);
    };
    if !args.out.json && !created {
        eprintln!("{run_id} was already there: the idempotency key names this run");
    }
    let answer = daemon.get(&format!("/v1/runs/{run_id}"), &[("wait", wait.to_string())])?;
    let run: RunRecord = field(&answer, "run")?;
    if args.out.json {
        print_json(&json!({
            "run_id": run.id,
            "created": created,
            "status": run.status.as_str(),
            "output": run.output,
            "error": run.error,
        }))?;
    } else {
        print_outcome(&run, wait);
    }
    Ok(if run.status == RunStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The `not_before` to send: `--at` as given (the daemon checks it), or
/// now plus `--delay`, as RFC 3339.
fn start_time(at: Option<&str>, delay: Option<&str>) -> Result<Option<String>> {
    if let Some(at) = at {
        return Ok(Some(at.to_owned()));
    }
    let Some(delay) = delay else {
        return Ok(None);
    };
    let delay = weft_core::duration::parse_duration(delay).with_context(|| {
        format!("--delay {delay:?}: expected a duration such as 90s, 10m or 2h")
    })?;
    let delay = chrono::Duration::from_std(delay).context("--delay is too long")?;
    let at = chrono::Utc::now() + delay;
    Ok(Some(
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    ))
}

/// The flow id `arg` names: `arg` itself, or, when it is the path of a flow
/// file (a `/` in it, or a `.yaml`/`.yml` ending; flow ids have neither), the
/// `id` the file declares. The daemon runs its own copy of the flow: the file
/// only says which.
fn flow_id(arg: &str) -> Result<String> {
    let path = Path::new(arg);
    let looks_like_a_file = arg.contains('/')
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if !looks_like_a_file {
        return Ok(arg.to_owned());
    }
    if !path.is_file() {
        bail!("no flow file {arg} (give a flow id, or the path of a flow file)");
    }
    let source = std::fs::read_to_string(path).with_context(|| format!("could not read {arg}"))?;
    let root = weft_flow::yaml::parse(arg, &source)
        .map_err(|errors| anyhow::anyhow!("{}", weft_flow::Diagnostics(errors)))
        .with_context(|| format!("{arg} is not a flow file"))?;
    match root.to_json().get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => bail!("{arg} has no `id:`, so it does not say which flow to run"),
    }
}

/// The run's outcome: its output on stdout, anything else on stderr.
fn print_outcome(run: &RunRecord, wait: u64) {
    match run.status {
        RunStatus::Succeeded => {
            eprintln!("run {} succeeded", run.id);
            println!("{}", run.output.as_ref().unwrap_or(&Value::Null));
        }
        RunStatus::Failed | RunStatus::Cancelled => eprintln!(
            "run {} {}: {}",
            run.id,
            run.status,
            run.error.as_deref().unwrap_or("no error recorded")
        ),
        RunStatus::Queued | RunStatus::Running => eprintln!(
            "run {} is still {} after {wait}s; see `weft runs status {} --daemon URL`",
            run.id, run.status, run.id
        ),
    }
}
