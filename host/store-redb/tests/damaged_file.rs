//! A store file damaged outside redb (bytes flipped at seeded positions):
//! opening it, reading it, checking and repairing it give errors that name the
//! file, never a panic; a check of an intact file is clean and a repair of a
//! damaged one keeps a copy and reports what it saved.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;
use weft_store_api::{RunFilter, RunOutcome, StoreError};
use weft_store_redb::{RedbStore, RepairOutcome, Walked, check_file, repair_file};

/// A store with a few finished runs and one still queued, closed cleanly.
async fn build(path: &Path) {
    let store = RedbStore::open(path).unwrap();
    for i in 0..6u64 {
        let sub = store
            .submit_run(run(vec![task("a", "p", 0)]), T0 + i)
            .await
            .unwrap();
        let lease = store
            .lease("w", None, 60_000, WorkerSite::Remote, T0 + i)
            .await
            .unwrap()
            .unwrap();
        store
            .artifact_put(
                &sub.run_id,
                "note",
                json!({"i": i, "pad": "x".repeat(500)}),
                T0 + i,
            )
            .await
            .unwrap();
        let outcome = RunOutcome::Succeeded {
            output: json!({"i": i}),
        };
        store
            .complete(
                lease.task,
                lease.token,
                json!({"i": i}),
                vec![],
                Some(outcome),
                T0 + i,
            )
            .await
            .unwrap();
    }
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0 + 100)
        .await
        .unwrap();
    store.close().await;
    drop(store);
}

/// xorshift64*: the positions and bytes of the flips, from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `original` with `flips` bytes xored with a non-zero value at seeded places.
fn flipped(original: &[u8], rng: &mut Rng, flips: usize) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..flips {
        let at = usize::try_from(rng.next() % bytes.len() as u64).unwrap();
        bytes[at] ^= u8::try_from(rng.next() % 255 + 1).unwrap();
    }
    bytes
}

/// A failure of the store must name the file.
fn names_file(e: &StoreError, path: &Path) {
    let text = e.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name {}: {text}",
        path.display()
    );
}

/// Opens `path` and reads everything a command would; every failure names it.
async fn use_store(path: &Path) -> bool {
    let store = match RedbStore::open(path) {
        Ok(store) => store,
        Err(e) => {
            names_file(&e, path);
            return false;
        }
    };
    let mut ok = true;
    match store.runs_list(usize::MAX, &RunFilter::default()).await {
        Ok(runs) => {
            for r in runs {
                if let Err(e) = store.verify(&r.id).await {
                    names_file(&e, path);
                    ok = false;
                }
                if let Err(e) = store.artifact_list(&r.id).await {
                    names_file(&e, path);
                    ok = false;
                }
            }
        }
        Err(e) => {
            names_file(&e, path);
            ok = false;
        }
    }
    if let Err(e) = store
        .submit_run(run(vec![task("b", "p", 0)]), T0 + 500)
        .await
    {
        names_file(&e, path);
        ok = false;
    }
    store.close().await;
    drop(store);
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.redb");
    build(&clean).await;
    let original = std::fs::read(&clean).unwrap();
    let report = check_file(&clean, 10).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.walk.runs, 7);
    assert_eq!(report.walk.ledgers_verified, 7);

    let mut rng = Rng(0x5eed_0000_0000_0013);
    let (mut failed, mut damaged_found) = (0, 0);
    for round in 0..120 {
        let path = dir.path().join(format!("flip-{round}.redb"));
        let flips = 1 + usize::try_from(rng.next() % 8).unwrap();
        std::fs::write(&path, flipped(&original, &mut rng, flips)).unwrap();
        let check = check_file(&path, 5).unwrap();
        if !check.is_clean() {
            damaged_found += 1;
        }
        if !use_store(&path).await {
            failed += 1;
            assert!(
                !check.is_clean(),
                "a file a command fails on checks clean: {check:?}"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
    // The seeds damage enough files to exercise both paths.
    assert!(
        failed > 0 && damaged_found > failed,
        "{failed} failed, {damaged_found} found"
    );
}

/// A copy of a store file taken while the store is still open and was never
/// closed: what a crash (or `kill -9`) leaves.
async fn crash_image(dir: &Path) -> std::path::PathBuf {
    let live = dir.join("live.redb");
    build(&live).await;
    let store = RedbStore::open(&live).unwrap();
    store
        .submit_run(run(vec![task("late", "p", 0)]), T0 + 200)
        .await
        .unwrap();
    let image = dir.join("weft.redb");
    std::fs::copy(&live, &image).unwrap();
    // Never closed: its writer keeps the file until the test process ends.
    std::mem::forget(store);
    image
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_left_by_a_crash_is_repaired_after_a_copy_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = crash_image(dir.path()).await;
    let before = std::fs::read(&path).unwrap();
    let check = check_file(&path, 5).unwrap();
    assert!(!check.is_clean(), "{check:?}");
    assert!(
        matches!(&check.walked, Walked::RecoveredCopy(why) if why.contains("not closed cleanly")),
        "{check:?}"
    );
    assert_eq!(check.walk.runs, 8, "the recovered copy has every run");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a check changes nothing"
    );

    let backup = dir.path().join("weft.redb.bak-test");
    let report = repair_file(&path, &backup, 5).unwrap();
    assert_eq!(report.outcome, RepairOutcome::Repaired, "{report:?}");
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        before,
        "the backup is the file as it was"
    );
    let after = report.after.expect("checked after");
    assert!(after.is_clean(), "{after:?}");
    assert_eq!((after.walk.runs, after.walk.ledgers_verified), (8, 8));
    // A second repair finds nothing to do and makes no copy.
    let again = repair_file(&path, &dir.path().join("unused"), 5).unwrap();
    assert_eq!(
        (again.outcome, again.backup),
        (RepairOutcome::NothingToRepair, None)
    );
}
