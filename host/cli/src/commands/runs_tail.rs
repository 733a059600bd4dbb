//! `weft runs tail RUN [--follow] [--state DIR] [--json]`: a run's ledger events.
//! With `--json`, one JSON object per line (so `--follow` can stream them).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use weft_store::LedgerEvent;

use super::state::{StateStore, cut, preview, utc_time};
use crate::cli::RunsTailArgs;

/// How often `--follow` looks at the store for new events.
const POLL: Duration = Duration::from_millis(250);
/// Characters of an event's payload shown in the text view.
const SUMMARY: usize = 90;

/// Prints a run's ledger events; with `--follow`, until the run finishes.
pub(crate) async fn run(args: RunsTailArgs) -> Result<ExitCode> {
    let state = StateStore::open(&args.state)?;
    let run = state.run(&args.run)?;
    let mut shown = 0u64;
    let mut interval = tokio::time::interval(POLL);
    loop {
        // Status first: if it is final, the ledger read after it holds every event.
        let finished = state
            .store
            .run_get(&run.id)?
            .is_none_or(|r| r.status.is_final());
        for event in state.store.ledger(&run.id)? {
            if event.seq > shown {
                shown = event.seq;
                print_event(&event, args.state.json)?;
            }
        }
        if !args.follow || finished {
            return Ok(ExitCode::SUCCESS);
        }
        interval.tick().await;
    }
}

/// Prints one event: a text line, or a JSON line with `json`.
fn print_event(event: &LedgerEvent, json: bool) -> Result<()> {
    if json {
        let line = json!({
            "seq": event.seq,
            "time_ms": event.time_ms,
            "type": event.kind,
            "payload": event.payload,
            "hash": event.hash,
        });
        println!("{}", serde_json::to_string(&line)?);
    } else {
        println!(
            "{:>4}  {}  {:22}  {}",
            event.seq,
            utc_time(event.time_ms),
            event.kind,
            summary(&event.payload)
        );
    }
    Ok(())
}

/// A payload in one short line: its scalar fields first, then the rest, cut.
fn summary(payload: &Value) -> String {
    let Value::Object(map) = payload else {
        return preview(payload, SUMMARY);
    };
    let mut parts: Vec<String> = map
        .iter()
        .filter(|(_, v)| !(v.is_object() || v.is_array()))
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    parts.extend(
        map.iter()
            .filter(|(_, v)| v.is_object() || v.is_array())
            .map(|(k, v)| format!("{k}={v}")),
    );
    cut(&parts.join(" "), SUMMARY)
}
