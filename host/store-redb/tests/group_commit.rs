//! Group commit: many concurrent writers share few durable commits, every
//! acknowledged write survives a reopen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::time::Instant;
use weft_store_api::prelude::*;

use common::{T0, run, task};
use weft_store_api::StoreError;
use weft_store_redb::RedbStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submitters_are_batched_and_all_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let store = RedbStore::open(&path).unwrap();
    const N: usize = 400;
    let mut handles = Vec::new();
    for i in 0..N {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            s.submit_run(run(vec![task("a", "p", 0)]), T0 + i as u64)
                .await
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap().unwrap().run_id);
    }
    let stats = store.writer_stats();
    // Creating the tables is not counted; every op is acknowledged.
    assert_eq!(stats.ops, N as u64);
    assert!(
        stats.commits < N as u64 / 2,
        "expected batching, got {} commits for {N} ops",
        stats.commits
    );
    println!(
        "{N} concurrent submits: {} commits, largest batch {}",
        stats.commits, stats.max_batch
    );
    store.close().await;
    drop(store);

    let store = RedbStore::open(&path).unwrap();
    for id in &ids {
        let r = store
            .run_get(id)
            .await
            .unwrap()
            .expect("acknowledged run survives reopen");
        assert_eq!(&r.id, id);
        assert!(store.verify(id).await.unwrap().is_ok());
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), N, "run ids are unique");
    assert_eq!(
        store.queue_stats(T0).await.unwrap().ready_by_pool["p"],
        N as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_op_does_not_abort_its_batch() {
    let (_dir, store) = common::temp_store();
    let mut handles = Vec::new();
    for i in 0..50u64 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            let mut r = run(vec![task("a", "p", 0)]);
            if i % 5 == 0 {
                r.id_prefix = "Bad Prefix".into();
            }
            s.submit_run(r, T0).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Invalid(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 40);
    assert_eq!(store.queue_stats(T0).await.unwrap().ready_by_pool["p"], 40);
}

/// Measures throughput with group commit against one commit per op (awaiting
/// each op before sending the next). Prints the figures (`--nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throughput_group_commit_vs_one_commit_per_op() {
    let (_dir, store) = common::temp_store();
    const N: u64 = 300;
    let start = Instant::now();
    for i in 0..N {
        store
            .submit_run(run(vec![task("a", "p", 0)]), T0 + i)
            .await
            .unwrap();
    }
    let serial = start.elapsed();
    let before = store.writer_stats();

    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..N {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            s.submit_run(run(vec![task("a", "p", 0)]), T0 + i).await
        }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let grouped = start.elapsed();
    let after = store.writer_stats();
    let ops_s = |d: std::time::Duration| N as f64 / d.as_secs_f64();
    println!(
        "one commit per op: {N} ops in {serial:?} = {:.0} ops/s ({} commits); \
         group commit: {N} ops in {grouped:?} = {:.0} ops/s ({} commits)",
        ops_s(serial),
        before.commits,
        ops_s(grouped),
        after.commits - before.commits
    );
    assert_eq!(before.commits, N, "serial submits commit once each");
    assert!(after.commits - before.commits < N);
}
