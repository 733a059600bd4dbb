//! Tampering that leaves a hash chain that recomputes, done to a real store
//! file with the redb API: `weft runs verify` must still report each one (exit
//! 1, `BROKEN at seq K: <reason>`), checking the chain against its keys and
//! against the run's record.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;
#[path = "common/finished_run.rs"]
mod fixture;

use std::path::{Path, PathBuf};

use common::{text, weft};
use fixture::finished_run;
use redb::{Database, ReadableDatabase};
use serde_json::Value;
use weft_store_api::LedgerEvent;
use weft_store_redb::tables::{LEDGER, LEDGER_HEAD};

/// `weft runs verify RUN --state DIR --json`: its exit status and report.
fn verify(dir: &Path, run: &str) -> (bool, Value) {
    let state = dir.display().to_string();
    let out = weft(dir, &["runs", "verify", run, "--state", &state, "--json"]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", text(&out.stderr)));
    (out.status.success(), report)
}

/// The run's events as stored, by key.
fn stored(db: &Database, run: &str) -> Vec<(u64, LedgerEvent)> {
    let tx = db.begin_read().unwrap();
    let table = tx.open_table(LEDGER).unwrap();
    table
        .range((run, 0u64)..=(run, u64::MAX))
        .unwrap()
        .map(|e| {
            let (k, v) = e.unwrap();
            (k.value().1, serde_json::from_slice(v.value()).unwrap())
        })
        .collect()
}

/// Opens the store file of `dir` for tampering.
fn open(dir: &Path) -> Database {
    Database::open(dir.join("weft.redb")).unwrap()
}

/// A fresh state folder under `tmp` named `name`, with its run.
fn case(tmp: &Path, name: &str) -> (PathBuf, String) {
    let dir = tmp.join(name);
    let run = finished_run(&dir, "note", None);
    let (ok, report) = verify(&dir, &run);
    assert!(ok, "untouched, it verifies: {report}");
    (dir, run)
}

/// `report` names a broken seq with a reason containing `why`.
fn assert_broken(ok: bool, report: &Value, seq: u64, why: &str) {
    assert!(!ok, "{report}");
    assert_eq!(report["verified"], false, "{report}");
    assert_eq!(report["first_bad"]["seq"], seq, "{report}");
    let reason = report["first_bad"]["reason"].as_str().unwrap();
    assert!(reason.contains(why), "{reason}");
}

#[test]
fn a_run_whose_ledger_and_head_were_deleted_does_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, run) = case(tmp.path(), "deleted");
    let db = open(&dir);
    let tx = db.begin_write().unwrap();
    {
        let mut ledger = tx.open_table(LEDGER).unwrap();
        for (key, _) in stored(&db, &run) {
            ledger.remove((run.as_str(), key)).unwrap();
        }
        tx.open_table(LEDGER_HEAD)
            .unwrap()
            .remove(run.as_str())
            .unwrap();
    }
    tx.commit().unwrap();
    drop(db);
    let (ok, report) = verify(&dir, &run);
    assert_broken(ok, &report, 1, "its ledger has no events");
    assert_eq!(report["events"], 0);
}

#[test]
fn an_event_moved_to_another_key_does_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, run) = case(tmp.path(), "moved");
    let db = open(&dir);
    let events = stored(&db, &run);
    let (last, _) = events.last().unwrap().clone();
    let tx = db.begin_write().unwrap();
    {
        let mut ledger = tx.open_table(LEDGER).unwrap();
        let bytes = ledger
            .remove((run.as_str(), last))
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        ledger
            .insert((run.as_str(), last + 5), bytes.as_slice())
            .unwrap();
    }
    tx.commit().unwrap();
    drop(db);
    let (ok, report) = verify(&dir, &run);
    assert_broken(
        ok,
        &report,
        last + 5,
        &format!("it is event {last}: it was moved"),
    );
}

#[test]
fn a_ledger_cut_short_with_its_head_rewound_does_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, run) = case(tmp.path(), "truncated");
    let db = open(&dir);
    let events = stored(&db, &run);
    // Cut the last two events (step-succeeded and run-succeeded) and point
    // the head at the one before: a chain that recomputes.
    let keep = events.len() - 2;
    let (seq, new_last) = events[keep - 1].clone();
    let tx = db.begin_write().unwrap();
    {
        let mut ledger = tx.open_table(LEDGER).unwrap();
        for (key, _) in &events[keep..] {
            ledger.remove((run.as_str(), *key)).unwrap();
        }
        let hash: [u8; 32] = hex::decode(&new_last.hash).unwrap().try_into().unwrap();
        tx.open_table(LEDGER_HEAD)
            .unwrap()
            .insert(run.as_str(), (seq, hash))
            .unwrap();
    }
    tx.commit().unwrap();
    drop(db);
    let (ok, report) = verify(&dir, &run);
    assert_broken(ok, &report, seq + 1, "no run-succeeded event");
    assert_eq!(report["events"], seq);
}
