//! `weft runs tail RUN [--follow] [--state DIR | --daemon URL] [--json]`: a
//! run's ledger events. With `--json`, one JSON object per line (so `--follow`
//! can stream them). Through a daemon, `--follow` long-polls
//! `GET /v1/runs/{id}/events?after=SEQ&wait=S`, which answers as soon as an
//! event is committed.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use weft_store_api::{LedgerEvent, RunStatus};

use super::daemon_client::{DaemonClient, field, segment};
use super::state::{StateStore, cut, preview, utc_time};
use crate::cli::RunsTailArgs;

/// How often `--follow` looks at the store for new events.
const POLL: Duration = Duration::from_millis(250);
/// How long one long-poll of the daemon waits for an event (short enough that a
/// stopping daemon, which lets requests finish, is not held up for long).
pub(crate) const FOLLOW_WAIT_SECS: u64 = 10;
/// Characters of an event's payload shown in the text view.
const SUMMARY: usize = 90;

/// One answer of `GET /v1/runs/{id}/events`.
pub(crate) struct RemotePage {
    /// The events after the seq asked for.
    pub events: Vec<LedgerEvent>,
    /// The run's status, from the same snapshot as the events.
    pub status: RunStatus,
    /// The run's ready, delayed or leased tasks, from the same snapshot.
    pub open_tasks: u64,
}

impl RemotePage {
    /// The events of `run` after seq `after`, waiting up to `wait` seconds for
    /// one if there is none yet and the run has not finished.
    pub(crate) fn get(daemon: &DaemonClient, run: &str, after: u64, wait: u64) -> Result<Self> {
        let query = [("after", after.to_string()), ("wait", wait.to_string())];
        let answer = daemon.get(&format!("/v1/runs/{}/events", segment(run)), &query)?;
        Ok(Self {
            events: field(&answer, "events")?,
            status: field(&answer, "status")?,
            open_tasks: field(&answer, "open_tasks")?,
        })
    }
}

/// Prints a run's ledger events; with `--follow`, until the run finishes.
pub(crate) async fn run(args: RunsTailArgs) -> Result<ExitCode> {
    if let Some(daemon) = DaemonClient::from_flag(args.state.daemon.as_deref()) {
        return remote(&daemon, &args);
    }
    let state = StateStore::open(&args.state).await?;
    let run = state.run(&args.run).await?;
    let mut shown = 0u64;
    let mut interval = tokio::time::interval(POLL);
    loop {
        // Status first: if it is final, the ledger read after it holds every event.
        let finished = state
            .store
            .run_get(&run.id)
            .await?
            .is_none_or(|r| r.status.is_final());
        for event in state.store.ledger(&run.id).await? {
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

/// Prints the run's events from the daemon; with `--follow`, until it finishes.
fn remote(daemon: &DaemonClient, args: &RunsTailArgs) -> Result<ExitCode> {
    let mut shown = 0u64;
    loop {
        let wait = if args.follow { FOLLOW_WAIT_SECS } else { 0 };
        let page = RemotePage::get(daemon, &args.run, shown, wait)?;
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
