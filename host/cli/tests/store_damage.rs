//! A store file damaged outside weft, by failure mode (as redb's own
//! `tests/crash_consistency.rs`): bytes flipped at seeded places, and the file
//! a crash leaves. `weft runs list` and `weft store check` run on each as real
//! processes: no panic (exit 101, "panicked"), every failure names the file;
//! `weft store check --repair` keeps a copy and reports what it saved.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{text, weft};
use serde_json::{Value, json};
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;
use weft_store_api::{NewRun, NewTask, RunOutcome};
use weft_store_redb::RedbStore;

/// 2026-11-22T00:00:00Z in ms.
const T0: u64 = 1_795_305_600_000;
/// Runs written, finished ones and one queued.
const RUNS: u64 = 5;
/// Damaged copies tried.
const FLIPPED_FILES: usize = 40;

fn new_run() -> NewRun {
    NewRun {
        flow_id: "demo".into(),
        flow_version: "1".into(),
        tenant: "acme".into(),
        input: json!({"n": 1}),
        priority: 0,
        idempotency_key: None,
        id_prefix: "acme".into(),
        not_before: None,
        initial_tasks: vec![NewTask {
            step_id: "a".into(),
            pool: "p".into(),
            priority: 0,
        }],
    }
}

/// Writes `RUNS` runs into `path` (all but the last finished); returns the
/// store still open.
async fn fill(path: &Path) -> RedbStore {
    let store = RedbStore::open(path).unwrap();
    for i in 0..RUNS {
        let now = T0 + i;
        let sub = store.submit_run(new_run(), now).await.unwrap();
        if i + 1 == RUNS {
            break;
        }
        let lease = store
            .lease("w", None, 60_000, WorkerSite::Remote, now)
            .await
            .unwrap()
            .unwrap();
        let note = json!({"i": i, "pad": "x".repeat(400)});
        store
            .artifact_put(&sub.run_id, "note", note, now)
            .await
            .unwrap();
        let output = json!({"i": i});
        let outcome = RunOutcome::Succeeded {
            output: output.clone(),
        };
        store
            .complete(lease.task, lease.token, output, vec![], Some(outcome), now)
            .await
            .unwrap();
    }
    store
}

/// The state folder `dir` with a store of `RUNS` runs, closed cleanly.
fn clean_state(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("weft.redb");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { fill(&db).await.close().await });
    db
}

/// xorshift64*: flip places and values from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `weft ARGS --state DIR`.
fn on_state(dir: &Path, args: &[&str]) -> Output {
    let state = dir.display().to_string();
    let mut all = args.to_vec();
    all.extend(["--state", &state]);
    weft(dir, &all)
}

/// No panic, and a failure that names the file `db`.
fn no_panic_and_named(what: &str, out: &Output, db: &Path) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_ne!(out.status.code(), Some(101), "{what} panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    if !out.status.success() {
        let name = db.display().to_string();
        assert!(
            stderr.contains(&name) || stdout.contains(&name),
            "{what} failed without naming {name}:\nstdout: {stdout}\nstderr: {stderr}"
        );
    }
}

#[test]
fn flipped_bytes_never_panic_and_failures_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = clean_state(&tmp.path().join("clean"));
    let out = on_state(clean.parent().unwrap(), &["store", "check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("verdict: clean"),
        "{}",
        text(&out.stdout)
    );
    let original = std::fs::read(&clean).unwrap();

    let mut rng = Rng(0x00c0_ffee_0013_0005);
    let (mut list_failed, mut check_failed) = (0, 0);
    for i in 0..FLIPPED_FILES {
        let dir = tmp.path().join(format!("flip-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("weft.redb");
        let mut bytes = original.clone();
        for _ in 0..=rng.next() % 6 {
            let at = usize::try_from(rng.next() % bytes.len() as u64).unwrap();
            bytes[at] ^= u8::try_from(rng.next() % 255 + 1).unwrap();
        }
        std::fs::write(&db, &bytes).unwrap();
        // The check first: it must not change the file.
        let check = on_state(&dir, &["store", "check"]);
        no_panic_and_named("weft store check", &check, &db);
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "the check changed the file"
        );
        let list = on_state(&dir, &["runs", "list"]);
        no_panic_and_named("weft runs list", &list, &db);
        if !list.status.success() {
            list_failed += 1;
            assert!(
                !check.status.success(),
                "the check passed a file `runs list` fails on: {}",
                text(&check.stdout)
            );
        }
        if !check.status.success() {
            check_failed += 1;
            assert!(text(&check.stdout).contains("verdict: DAMAGED"));
        }
    }
    assert!(
        list_failed > 0 && check_failed > list_failed,
        "the seeds damaged too little: {list_failed} lists and {check_failed} checks failed"
    );
}

#[test]
fn a_file_left_by_a_crash_is_repaired_after_a_copy_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live.redb");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(fill(&live));
    let dir = tmp.path().join("crashed");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("weft.redb");
    // A copy of a file still open, never closed: what `kill -9` leaves.
    std::fs::copy(&live, &db).unwrap();
    let crashed = std::fs::read(&db).unwrap();

    let check = on_state(&dir, &["store", "check", "--json"]);
    assert!(!check.status.success());
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["records"], "recovered-copy", "{report}");
    assert!(
        report["records_detail"]
            .as_str()
            .unwrap()
            .contains("not closed cleanly"),
        "{report}"
    );
    assert_eq!(report["runs"], RUNS, "{report}");

    let repair = on_state(&dir, &["store", "check", "--repair", "--json"]);
    assert!(repair.status.success(), "{}", text(&repair.stdout));
    let report: Value = serde_json::from_slice(&repair.stdout).unwrap();
    assert_eq!(report["outcome"], "repaired", "{report}");
    let backup = PathBuf::from(report["backup"].as_str().unwrap());
    assert_eq!(backup.parent(), Some(dir.as_path()));
    let name = backup.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("weft.redb.bak-"), "{name}");
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        crashed,
        "the copy is the file as it was"
    );
    let after = &report["after"];
    assert_eq!(after["clean"], true, "{report}");
    assert_eq!(
        (&after["runs"], &after["ledgers_verified"]),
        (&json!(RUNS), &json!(RUNS))
    );

    let list = on_state(&dir, &["runs", "list", "--json"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let runs: Vec<Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(runs.len(), usize::try_from(RUNS).unwrap());
    drop(store);
}
