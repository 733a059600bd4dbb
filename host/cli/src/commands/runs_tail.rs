//! `weft runs tail RUN [--follow] [--state DIR | --daemon URL] [--json]`: a
//! run's ledger events. With `--json`, one JSON object per line (so `--follow`
//! can stream them). `--follow` asks for the events after the last one shown,
//! waiting for the next (through a daemon a long-poll of
//! `GET /v1/runs/{id}/events?after=SEQ&wait=S`, which answers as soon as an
//! event is committed; locally a look at the store every 250 ms).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Value, json};
use weft_store_api::LedgerEvent;

use super::state::{cut, preview, utc_time};
use crate::cli::RunsTailArgs;
use crate::client::{self, FOLLOW_WAIT_SECS};

/// Characters of an event's payload shown in the text view.
const SUMMARY: usize = 90;

/// Prints a run's ledger events; with `--follow`, until the run finishes.
pub(crate) async fn run(args: RunsTailArgs) -> Result<ExitCode> {
    let client = client::open(&args.state);
    let wait = if args.follow { FOLLOW_WAIT_SECS } else { 0 };
    let mut shown = 0u64;
    loop {
        let page = client.run_events(&args.run, shown, wait).await?;
        for event in &page.events {
            shown = event.seq;
            print_event(event, args.state.json)?;
        }
        // The status is from the events' snapshot: once final, every event is shown.
        if !args.follow || page.status.is_final() {
            return Ok(ExitCode::SUCCESS);
        }
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
