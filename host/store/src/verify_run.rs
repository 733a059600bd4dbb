//! `verify(run)`: a run's hash chain (`ledger::verify_events`) and what the
//! chain alone cannot show.
//!
//! A chain that recomputes can still have been tampered with:
//!
//! - **an event under another key**: events are read in key order, so one
//!   moved past the end of its run's keys keeps its place; the seq inside it
//!   must be its key;
//! - **the whole ledger and head deleted**: an empty chain recomputes; a run
//!   that is in the store must have its ledger, starting with `run-created`;
//! - **the end cut off and the head rewound**: the shorter chain recomputes;
//!   a run whose record says it ended must have the event of that end (and a
//!   ledger that records an end must belong to a run that says so).
//!
//! An edit re-hashed from the edited event to the head recomputes too; only a
//! signature of the head, made with a key kept outside the store, shows it.

use crate::db::OrDb;
use redb::ReadTransaction;

use weft_store_api::{
    BadEvent, LedgerEvent, MaybeEvent, RunRecord, RunStatus, StoreError, VerifyReport,
};

use crate::ledger;
use crate::tables::{self, decode};

/// Recomputes `run`'s chain and checks it against its key order and its run
/// record. [`StoreError::RunNotFound`] when there is no run, ledger or head.
pub fn verify(rt: &ReadTransaction, run: &str) -> Result<VerifyReport, StoreError> {
    let table = rt.open_table(tables::LEDGER).db()?;
    let heads = rt.open_table(tables::LEDGER_HEAD).db()?;
    let record: Option<RunRecord> = rt
        .open_table(tables::RUNS)
        .db()?
        .get(run)
        .db()?
        .map(|g| decode(g.value()))
        .transpose()?;
    let mut events: Vec<MaybeEvent> = Vec::new();
    let mut moved = None;
    for entry in table.range((run, 0u64)..=(run, u64::MAX)).db()? {
        let (k, v) = entry.db()?;
        let key = k.value().1;
        let event = decode::<LedgerEvent>(v.value()).map_err(|e| (key, e.to_string()));
        if let Ok(e) = &event
            && e.seq != key
            && moved.is_none()
        {
            moved = Some(BadEvent {
                seq: key,
                reason: format!(
                    "stored under seq {key} but it is event {}: it was moved",
                    e.seq
                ),
            });
        }
        events.push(event);
    }
    let head = heads.get(run).db()?.map(|g| g.value());
    if events.is_empty() && head.is_none() && record.is_none() {
        return Err(StoreError::RunNotFound(run.to_owned()));
    }
    let kinds: Vec<(u64, String)> = events
        .iter()
        .filter_map(|e| e.as_ref().ok())
        .map(|e| (e.seq, e.kind.clone()))
        .collect();
    let mut report = ledger::verify_events(run, events, head);
    if report.first_bad.is_none() {
        report.first_bad = moved.or_else(|| {
            record
                .as_ref()
                .and_then(|r| against_record(r, &kinds, report.events))
        });
    }
    Ok(report)
}

/// The event of each end of a run.
fn end_event(status: RunStatus) -> Option<&'static str> {
    match status {
        RunStatus::Succeeded => Some("run-succeeded"),
        RunStatus::Failed => Some("run-failed"),
        RunStatus::Cancelled => Some("run-cancelled"),
        RunStatus::Queued | RunStatus::Running => None,
    }
}

/// What does not match between a verified chain of `count` events (their seq
/// and kind) and the run's record.
fn against_record(run: &RunRecord, kinds: &[(u64, String)], count: u64) -> Option<BadEvent> {
    let bad = |seq: u64, reason: String| Some(BadEvent { seq, reason });
    match kinds.first() {
        None => {
            return bad(
                1,
                format!(
                    "missing: run {} is in the store ({}) but its ledger has no events; \
                     a run's ledger starts with run-created",
                    run.id,
                    run.status.as_str()
                ),
            );
        }
        Some((seq, kind)) if kind != "run-created" => {
            return bad(*seq, format!("the first event is {kind}, not run-created"));
        }
        Some(_) => {}
    }
    let ends = ["run-succeeded", "run-failed", "run-cancelled"];
    let ended = kinds.iter().find(|(_, k)| ends.contains(&k.as_str()));
    match (end_event(run.status), ended) {
        (Some(want), None) => bad(
            count + 1,
            format!(
                "missing: the run is {} but its ledger has no {want} event \
                 (the chain ends at seq {count}: events were cut off its end)",
                run.status.as_str()
            ),
        ),
        (Some(want), Some((seq, kind))) if kind != want => bad(
            *seq,
            format!(
                "the ledger records {kind} but the run is {}",
                run.status.as_str()
            ),
        ),
        (None, Some((seq, kind))) => bad(
            *seq,
            format!(
                "the ledger records {kind} but the run is {}",
                run.status.as_str()
            ),
        ),
        _ => None,
    }
}
