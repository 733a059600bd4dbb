//! Signed ledger heads (docs/storage.md, "Tamper evidence"), through the real
//! binary: `weft ledger keygen`, a run signed at its end by `weft run` with
//! `$WEFT_LEDGER_SIGNING_KEY`, `weft runs verify --public-key`, and `weft
//! ledger anchor`; then tampering done to a real store file with the redb
//! API that the hash chain alone cannot see (an edit re-hashed up to the
//! head; a cut with the run's record rewound), caught with the key.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;
#[path = "common/finished_run.rs"]
mod fixture;

use redb::ReadableTable;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::text;
use fixture::finished_run;
use redb::{Database, ReadableDatabase};
use serde_json::{Value, json};
use weft_store_api::{LedgerEvent, LedgerSigner, canonical_event_bytes, chain_hash};
use weft_store_redb::tables::{LEDGER, LEDGER_HEAD, RUNS};
use weft_tests::component_cache_dir;

/// `weft ARGS` from the repository root, with `env` set.
fn weft_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weft"));
    cmd.args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env_remove("WEFT_LEDGER_SIGNING_KEY")
        .current_dir(weft_tests::repo_root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn weft(args: &[&str]) -> Output {
    weft_env(args, &[])
}

/// `weft ledger keygen --out DIR/NAME`: the private and public key files.
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    let out = weft(&["ledger", "keygen", "--out", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let public = dir.join(format!("{name}.pub"));
    assert_eq!(text(&out.stdout), std::fs::read_to_string(&public).unwrap());
    (key, public)
}

/// `weft runs verify RUN --state DIR --json [--public-key FILE]`.
fn verify(state: &Path, run: &str, key: Option<&Path>) -> (bool, Value) {
    let state = state.display().to_string();
    let mut args = vec!["runs", "verify", run, "--state", &state, "--json"];
    let key = key.map(|k| k.display().to_string());
    if let Some(k) = &key {
        args.extend(["--public-key", k.as_str()]);
    }
    let out = weft(&args);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", text(&out.stderr)));
    (out.status.success(), report)
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "ledger.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("weft-ledger-signing-key ed25519 ")
    );
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("weft-ledger-public-key ed25519 ")
    );
    let again = weft(&["ledger", "keygen", "--out", key.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing key was overwritten");
}

#[test]
fn a_run_signed_at_its_end_verifies_with_its_key_only_and_is_anchored_once() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "ledger.key");
    let (_, other) = keygen(dir.path(), "other.key");
    let state = dir.path().join("state");
    let input = r#"{"ticket":{"id":7,"customer":"ada","body":"Login fails."}}"#;
    let s = state.display().to_string();
    let out = weft_env(
        &[
            "run",
            "support-triage",
            "-i",
            input,
            "--state",
            &s,
            "--json",
        ],
        &[("WEFT_LEDGER_SIGNING_KEY", &key)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = serde_json::from_slice::<Value>(&out.stdout).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (ok, report) = verify(&state, &run, Some(&public));
    assert!(ok, "{report}");
    assert_eq!(report["signature"]["state"], "signed", "{report}");
    assert_eq!(
        report["signature"]["signed_seq"], report["events"],
        "{report}"
    );

    let (ok, report) = verify(&state, &run, Some(&other));
    assert!(!ok, "another key was accepted: {report}");
    let reason = report["first_bad"]["reason"].as_str().unwrap();
    assert!(reason.contains("not by the given public key"), "{reason}");

    // Without a key, the report is what it always was.
    let (ok, report) = verify(&state, &run, None);
    assert!(ok && report.get("signature").is_none(), "{report}");

    let anchor = dir.path().join("anchor.txt");
    for new in [1, 0] {
        let out = weft(&[
            "ledger",
            "anchor",
            "--out",
            anchor.to_str().unwrap(),
            "--state",
            &s,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(&format!("anchored {new} new")),
            "{}",
            text(&out.stdout)
        );
    }
    let lines = std::fs::read_to_string(&anchor).unwrap();
    let line: Vec<&str> = lines.lines().collect();
    assert_eq!(line.len(), 1, "{lines}");
    assert!(line[0].starts_with(&format!("{run} ")), "{lines}");
}

/// The run's events as stored.
fn stored(db: &Database, run: &str) -> Vec<LedgerEvent> {
    let tx = db.begin_read().unwrap();
    let table = tx.open_table(LEDGER).unwrap();
    table
        .range((run, 0u64)..=(run, u64::MAX))
        .unwrap()
        .map(|e| serde_json::from_slice(e.unwrap().1.value()).unwrap())
        .collect()
}

/// Replaces the run's ledger with `events`, re-hashed from the first, and
/// points the head at the last: a chain that recomputes.
fn rewrite(db: &Database, run: &str, mut events: Vec<LedgerEvent>) {
    let old = stored(db, run);
    let mut prev = [0u8; 32];
    for e in &mut events {
        let bytes = canonical_event_bytes(run, e.seq, e.time_ms, &e.kind, &e.payload);
        let hash = chain_hash(&prev, &bytes);
        e.prev_hash = hex::encode(prev);
        e.hash = hex::encode(hash);
        prev = hash;
    }
    let tx = db.begin_write().unwrap();
    {
        let mut ledger = tx.open_table(LEDGER).unwrap();
        for e in &old {
            ledger.remove((run, e.seq)).unwrap();
        }
        for e in &events {
            let bytes = serde_json::to_vec(e).unwrap();
            ledger.insert((run, e.seq), bytes.as_slice()).unwrap();
        }
        let last = events.last().unwrap().seq;
        tx.open_table(LEDGER_HEAD)
            .unwrap()
            .insert(run, (last, prev))
            .unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn an_edit_re_hashed_up_to_the_head_passes_the_chain_but_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let signer = LedgerSigner::from_seed([5; 32]);
    let public = dir.path().join("ledger.pub");
    std::fs::write(&public, signer.public().to_text()).unwrap();
    let state = dir.path().join("state");
    let run = finished_run(&state, "payout", Some(&signer));
    let (ok, report) = verify(&state, &run, Some(&public));
    assert!(ok && report["signature"]["state"] == "signed", "{report}");

    let db = Database::open(state.join("weft.redb")).unwrap();
    let mut events = stored(&db, &run);
    let payout = events
        .iter_mut()
        .find(|e| e.kind == "artifact-put")
        .unwrap();
    assert_eq!(payout.payload["key"], "payout", "{:?}", payout.payload);
    payout.payload["key"] = json!("payout-to-mallory");
    let edited = payout.seq;
    rewrite(&db, &run, events);
    drop(db);

    let (ok, report) = verify(&state, &run, None);
    assert!(ok, "the chain alone cannot see it: {report}");
    let (ok, report) = verify(&state, &run, Some(&public));
    assert!(!ok, "{report}");
    let reason = report["first_bad"]["reason"].as_str().unwrap();
    assert!(reason.contains("edited and re-hashed"), "{reason}");
    assert!(
        report["first_bad"]["seq"].as_u64().unwrap() >= edited,
        "{report}"
    );
}

#[test]
fn a_cut_with_the_run_record_rewound_passes_the_chain_but_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let signer = LedgerSigner::from_seed([6; 32]);
    let public = dir.path().join("ledger.pub");
    std::fs::write(&public, signer.public().to_text()).unwrap();
    let state = dir.path().join("state");
    let run = finished_run(&state, "payout", Some(&signer));

    // Cut step-succeeded and run-succeeded, and make the run's record say it
    // is still running: nothing left that says it ended.
    let db = Database::open(state.join("weft.redb")).unwrap();
    let mut events = stored(&db, &run);
    let signed = events.last().unwrap().seq;
    events.truncate(events.len() - 2);
    rewrite(&db, &run, events);
    let tx = db.begin_write().unwrap();
    {
        let mut runs = tx.open_table(RUNS).unwrap();
        let mut record: Value =
            serde_json::from_slice(runs.get(run.as_str()).unwrap().unwrap().value()).unwrap();
        record["status"] = json!("running");
        let bytes = serde_json::to_vec(&record).unwrap();
        runs.insert(run.as_str(), bytes.as_slice()).unwrap();
    }
    tx.commit().unwrap();
    drop(db);

    let (ok, report) = verify(&state, &run, None);
    assert!(ok, "the chain alone cannot see it: {report}");
    let (ok, report) = verify(&state, &run, Some(&public));
    assert!(!ok, "{report}");
    let reason = report["first_bad"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("truncated") && reason.contains(&format!("seq {signed} was signed")),
        "{reason}"
    );
}

#[test]
fn an_ended_run_with_no_signed_head_is_an_unsigned_tail_with_the_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let signer = LedgerSigner::from_seed([7; 32]);
    let public = dir.path().join("ledger.pub");
    std::fs::write(&public, signer.public().to_text()).unwrap();
    let state = dir.path().join("state");
    let run = finished_run(&state, "payout", None);
    let (ok, report) = verify(&state, &run, None);
    assert!(ok && report.get("signature").is_none(), "{report}");
    let (ok, report) = verify(&state, &run, Some(&public));
    assert!(!ok, "{report}");
    assert_eq!(report["first_bad"]["seq"], 1, "{report}");
    let reason = report["first_bad"]["reason"].as_str().unwrap();
    assert!(reason.contains("unsigned tail"), "{reason}");
}
