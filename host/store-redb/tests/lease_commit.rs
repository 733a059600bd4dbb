//! What a lease costs: an in-process worker's leases and renewals commit without
//! fsync (a crash can lose one, and ends its worker too), a remote worker's and
//! every completion with it; a completion
//! can take the worker's next lease in the same commit; fencing tokens handed
//! out after a reopen are above every token handed out before it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;
use weft_store_api::{Advance, NextCandidate, NextLease, StoreError};
use weft_store_redb::RedbStore;

fn chain_advance() -> Advance {
    Advance {
        candidates: vec![NextCandidate {
            task: task("b", "p", 0),
            needs: vec!["a".into()],
        }],
        all_steps: vec!["a".into(), "b".into()],
        final_steps: vec!["b".into()],
    }
}

fn next(owner: &str) -> NextLease {
    NextLease {
        owner: owner.into(),
        pools: None,
        lease_ms: 1_000,
    }
}

#[tokio::test]
async fn in_process_leases_skip_the_fsync_and_the_rest_do_not() {
    let (_dir, store) = common::temp_store();
    for _ in 0..2 {
        let new = run(vec![task("a", "p", 0)]);
        store.submit_run(new, T0).await.unwrap();
    }
    let before = store.writer_stats();
    let local = store
        .lease("w", None, 1_000, WorkerSite::InProcess, T0)
        .await;
    let local = local.unwrap().unwrap();
    let renewed = store.renew(
        local.task,
        local.token,
        1_000,
        WorkerSite::InProcess,
        T0 + 1,
    );
    renewed.await.unwrap();
    let after_local = store.writer_stats();
    assert_eq!(after_local.commits, before.commits + 2);
    assert_eq!(after_local.durable_commits, before.durable_commits);

    let remote = store
        .lease("remote", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let renewed = store.renew(remote.task, remote.token, 1_000, WorkerSite::Remote, T0 + 1);
    renewed.await.unwrap();
    let after_remote = store.writer_stats();
    assert_eq!(
        after_remote.durable_commits,
        after_local.durable_commits + 2
    );

    let done = store.complete_step(local.task, local.token, json!(1), chain_advance(), T0 + 2);
    done.await.unwrap();
    let after_done = store.writer_stats();
    assert_eq!(after_done.durable_commits, after_remote.durable_commits + 1);
}

#[tokio::test]
async fn a_completion_leases_the_next_ready_task_in_the_same_commit() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let a = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let before = store.writer_stats();
    let (done, b) = store
        .complete_step_and_lease(
            a.task,
            a.token,
            json!({"x": 1}),
            chain_advance(),
            &next("w"),
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(store.writer_stats().commits, before.commits + 1);
    let b = b.expect("b became ready and was leased");
    assert_eq!(done.enqueued, [b.task]);
    assert_eq!(
        (b.run.as_str(), b.step.as_str()),
        (sub.run_id.as_str(), "b")
    );
    let kinds: Vec<String> = store
        .ledger(&sub.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds[kinds.len() - 2..], ["step-succeeded", "step-started"]);
    assert_eq!(store.lease_of(b.task).await.unwrap().unwrap().owner, "w");
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
}

#[tokio::test]
async fn a_refused_completion_takes_no_lease() {
    let (_dir, store) = common::temp_store();
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let a = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let refused = store
        .complete_step_and_lease(
            a.task,
            a.token + 1,
            json!(1),
            chain_advance(),
            &next("w"),
            T0 + 1,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::StaleToken { .. })),
        "{refused:?}"
    );
    // The other run's task is still waiting for a worker.
    assert_eq!(
        store.queue_stats(T0 + 1).await.unwrap().ready_by_pool["p"],
        1
    );
}

#[tokio::test]
async fn tokens_after_a_reopen_are_above_every_token_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let store = RedbStore::open(&path).unwrap();
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let mut last = 0;
    for i in 0..3 {
        // Each lease expires before the next one is taken.
        let now = T0 + i * 10;
        let lease = store
            .lease("w", None, 5, WorkerSite::Remote, now)
            .await
            .unwrap()
            .unwrap();
        assert!(lease.token > last);
        last = lease.token;
    }
    store.close().await;
    drop(store);

    let store = RedbStore::open(&path).unwrap();
    let lease = store
        .lease("w2", None, 5, WorkerSite::Remote, T0 + 100)
        .await
        .unwrap()
        .unwrap();
    assert!(
        lease.token >= 1 << 32,
        "a token of the new epoch is above any of the old one: {}",
        lease.token
    );
}
