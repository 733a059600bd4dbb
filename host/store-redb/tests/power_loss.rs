//! Power loss and a full disk, on a simulated disk under redb (`SimDisk`).
//!
//! - `every_acknowledged_write_survives_power_loss`: per seed, rounds of
//!   random submits, leases, completions and failures; the power is cut after a
//!   random number of disk operations (often inside a commit), then every
//!   write no sync covered is dropped, kept or torn, and the store is opened
//!   on what is left. It must open, hold every acknowledged run and
//!   completion, and every ledger must verify. `WEFT_POWER_LOSS_SEEDS` sets
//!   how many seeds (`scripts/simulate.sh` runs many).
//! - `a_full_disk_refuses_work_loses_nothing_and_recovers`: writes on a full
//!   disk are refused as `Unavailable` (nothing acknowledged is lost), and the
//!   same store takes writes again once there is space, without a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::collections::BTreeMap;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::prelude::*;
use weft_store_api::{FailDecision, StoreError, TaskState, WorkerSite};
use weft_store_redb::{RedbOptions, RedbStore, SeededRng, SimDisk};

/// A small page cache, so that pages are read back from the disk.
const OPTIONS: RedbOptions = RedbOptions {
    cache_bytes: 1 << 20,
};

/// What the store acknowledged: it must all be there after any crash.
#[derive(Default)]
struct Acknowledged {
    runs: Vec<String>,
    /// Task → the state it was acknowledged in (done, or failed for good).
    tasks: BTreeMap<u64, TaskState>,
}

fn seeds() -> u64 {
    std::env::var("WEFT_POWER_LOSS_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(120)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_power_loss() {
    let mut totals = (0usize, 0usize, 0usize);
    for seed in 0..seeds() {
        let (dropped, kept, torn) = power_loss_seed(seed).await;
        totals = (totals.0 + dropped, totals.1 + kept, totals.2 + torn);
    }
    // The cuts must have hit unsynced writes, or the test proves nothing.
    assert!(
        totals.0 > 0 && totals.2 > 0,
        "dropped, kept, torn: {totals:?}"
    );
    println!(
        "power loss: {} seeds clean; unsynced writes dropped {}, kept {}, torn {}",
        seeds(),
        totals.0,
        totals.1,
        totals.2
    );
}

/// One seed: three rounds of work, each ended by a power cut; the totals of
/// what the cuts did to unsynced writes.
async fn power_loss_seed(seed: u64) -> (usize, usize, usize) {
    let mut rng = SeededRng::new(seed);
    let mut disk = SimDisk::new();
    let mut acked = Acknowledged::default();
    let mut now = T0;
    let mut totals = (0, 0, 0);
    for round in 0..3u64 {
        let store = RedbStore::open_on("sim.redb", disk.clone(), OPTIONS)
            .unwrap_or_else(|e| panic!("seed {seed} round {round}: the store does not open: {e}"));
        check(&store, &acked, seed, round).await;
        disk.cut_power_after(rng.below(120) + 1);
        for _ in 0..40 {
            now += rng.below(50) + 1;
            if step(&store, &mut rng, &mut acked, now).await.is_err() {
                break;
            }
        }
        disk.cut_power_after(0);
        // The crashed process: its handle goes, whatever it still writes is lost.
        drop(store);
        let (after, what) = disk.power_loss(seed.wrapping_mul(1000).wrapping_add(round));
        totals = (
            totals.0 + what.dropped,
            totals.1 + what.kept,
            totals.2 + what.torn,
        );
        disk = after;
    }
    let store = RedbStore::open_on("sim.redb", disk, OPTIONS)
        .unwrap_or_else(|e| panic!("seed {seed}: the store does not open at the end: {e}"));
    check(&store, &acked, seed, 3).await;
    totals
}

/// One random operation; `Err` once the disk refused it (the power is out).
async fn step(
    store: &RedbStore,
    rng: &mut SeededRng,
    acked: &mut Acknowledged,
    now: u64,
) -> Result<(), StoreError> {
    match rng.below(4) {
        0 | 1 => {
            let tasks = (0..=rng.below(2))
                .map(|i| task(&format!("s{i}"), "p", 0))
                .collect();
            let sub = store.submit_run(run(tasks), now).await?;
            acked.runs.push(sub.run_id);
        }
        _ => {
            let Some(lease) = store
                .lease("w", None, 60_000, WorkerSite::Remote, now)
                .await?
            else {
                return Ok(());
            };
            if rng.chance(70) {
                store
                    .complete(
                        lease.task,
                        lease.token,
                        json!({"seed": rng.next_u64() % 1000, "pad": "x".repeat(600)}),
                        Vec::new(),
                        None,
                        now,
                    )
                    .await?;
                acked.tasks.insert(lease.task, TaskState::Done);
            } else {
                store
                    .fail(
                        lease.task,
                        lease.token,
                        "permanent",
                        FailDecision::DeadLetter {
                            reason: "permanent".into(),
                        },
                        None,
                        now,
                    )
                    .await?;
                acked.tasks.insert(lease.task, TaskState::Dead);
            }
        }
    }
    Ok(())
}

/// Every acknowledged run and task is there as acknowledged, and every
/// ledger verifies.
async fn check(store: &RedbStore, acked: &Acknowledged, seed: u64, round: u64) {
    let at = format!("seed {seed} round {round}");
    for id in &acked.runs {
        assert!(
            store.run_get(id).await.unwrap().is_some(),
            "{at}: acknowledged run {id} is gone"
        );
    }
    for (task, state) in &acked.tasks {
        let record = store.task_get(*task).await.unwrap();
        let record = record.unwrap_or_else(|| panic!("{at}: acknowledged task {task} is gone"));
        assert_eq!(&record.state, state, "{at}: task {task}");
    }
    for id in store.run_ids().await.unwrap() {
        let report = store.verify(&id).await.unwrap();
        assert!(report.is_ok(), "{at}: the ledger of {id}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_work_loses_nothing_and_recovers() {
    let disk = SimDisk::new();
    let store = RedbStore::open_on("full.redb", disk.clone(), OPTIONS).unwrap();
    let mut acked = Vec::new();
    for i in 0..5 {
        acked.push(
            store
                .submit_run(run(vec![task("a", "p", 0)]), T0 + i)
                .await
                .unwrap()
                .run_id,
        );
    }
    disk.set_full(true);
    let refused = store
        .submit_run(run(vec![task("a", "p", 0)]), T0 + 10)
        .await;
    let Err(StoreError::Unavailable(why)) = refused else {
        panic!("a write on a full disk: {refused:?}");
    };
    assert!(why.contains("No space left on device"), "{why}");
    // Still full: refused again, the same way.
    let again = store
        .submit_run(run(vec![task("a", "p", 0)]), T0 + 11)
        .await;
    assert!(
        matches!(again, Err(StoreError::Unavailable(_))),
        "{again:?}"
    );

    disk.set_full(false);
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0 + 12)
        .await;
    acked.push(sub.expect("a write once there is space again").run_id);
    for id in &acked {
        assert!(
            store.run_get(id).await.unwrap().is_some(),
            "run {id} is gone"
        );
        assert!(store.verify(id).await.unwrap().is_ok(), "ledger of {id}");
    }
    // Neither refused submit left a run behind.
    assert_eq!(store.run_ids().await.unwrap().len(), acked.len());
}
