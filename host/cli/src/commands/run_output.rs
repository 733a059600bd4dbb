//! How `weft run` and `weft runs resume` show a run: one progress line per
//! event on stderr, and the final report (output or errors, dead letters,
//! ledger verdict) with the exit code.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use weft_engine::{ProgressEvent, describe_decision};
use weft_store_api::RunStatus;

pub(crate) use crate::client::Outcome;

/// Prints the outcome of a run that has finished or cannot go on (its output,
/// or its errors and dead letters, and the ledger verdict); the exit code is
/// success only for a succeeded run with an intact ledger.
pub(crate) fn report(outcome: &Outcome, json: bool) -> Result<ExitCode> {
    let Outcome { run, verify, dead } = outcome;
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
                for d in dead {
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
                time_ms,
                ..
            },
            true,
        ) => {
            let decision = describe_decision(decision, *time_ms);
            format!("  \u{2718} {step}: {error} \u{2192} {decision}")
        }
        (
            ProgressEvent::StepFailed {
                step,
                error,
                decision,
                time_ms,
                ..
            },
            false,
        ) => {
            let decision = describe_decision(decision, *time_ms);
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
        (ProgressEvent::StepSkipped { step, reason, .. }, true) => {
            format!("  \u{2013} {step} skipped: {reason}")
        }
        (ProgressEvent::StepSkipped { step, reason, .. }, false) => {
            format!("step {step} skipped: {reason}")
        }
        (ProgressEvent::RunFinished { status, .. }, _) => format!("run {status}"),
    };
    eprintln!("{line}");
}
