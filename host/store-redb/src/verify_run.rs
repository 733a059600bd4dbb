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

use weft_store_api::{BadEvent, LedgerEvent, MaybeEvent, RunRecord, StoreError, VerifyReport};

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
                .and_then(|r| weft_store_api::check_against_run(r, &kinds, report.events))
        });
    }
    Ok(report)
}
