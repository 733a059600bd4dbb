//! Fan-in: the store decides inside the completion's transaction whether a join
//! step became ready, so two parallel steps completing together enqueue it
//! exactly once, and the last completion finishes the run.
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
use weft_store_api::{Advance, NextCandidate, RunStatus};
use weft_store_redb::RedbStore;

fn dag_advance() -> Advance {
    Advance {
        candidates: vec![NextCandidate {
            task: task("join", "p", 0),
            needs: vec!["left".into(), "right".into()],
        }],
        all_steps: vec!["left".into(), "right".into(), "join".into()],
        final_steps: vec!["join".into()],
    }
}

async fn join_tasks(store: &RedbStore, run: &str) -> usize {
    store
        .tasks_of(run)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.step_id == "join")
        .count()
}

#[tokio::test]
async fn concurrent_branches_enqueue_the_join_exactly_once() {
    for _ in 0..20 {
        let (_dir, store) = common::temp_store();
        let sub = store
            .submit_run(run(vec![task("left", "p", 0), task("right", "p", 0)]), T0)
            .await
            .unwrap();
        let a = store
            .lease("w1", None, 1_000, WorkerSite::Remote, T0)
            .await
            .unwrap()
            .unwrap();
        let b = store
            .lease("w2", None, 1_000, WorkerSite::Remote, T0)
            .await
            .unwrap()
            .unwrap();
        let (ra, rb) = tokio::join!(
            store.complete_step(a.task, a.token, json!({"side": 1}), dag_advance(), T0 + 1),
            store.complete_step(b.task, b.token, json!({"side": 2}), dag_advance(), T0 + 1),
        );
        let enqueued = ra.unwrap().enqueued.len() + rb.unwrap().enqueued.len();
        assert_eq!(enqueued, 1, "exactly one completion enqueues the join");
        assert_eq!(join_tasks(&store, &sub.run_id).await, 1);
    }
}

#[tokio::test]
async fn one_branch_alone_does_not_enqueue_the_join_and_the_last_step_finishes_the_run() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(run(vec![task("left", "p", 0), task("right", "p", 0)]), T0)
        .await
        .unwrap();
    let a = store
        .lease("w1", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let done = store
        .complete_step(a.task, a.token, json!(1), dag_advance(), T0 + 1)
        .await
        .unwrap();
    assert!(done.enqueued.is_empty());
    assert_eq!(join_tasks(&store, &sub.run_id).await, 0);

    let b = store
        .lease("w2", None, 1_000, WorkerSite::Remote, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    let done = store
        .complete_step(b.task, b.token, json!(2), dag_advance(), T0 + 3)
        .await
        .unwrap();
    assert_eq!(done.enqueued.len(), 1);
    assert_eq!(done.run_output, None);

    let j = store
        .lease("w1", None, 1_000, WorkerSite::Remote, T0 + 4)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.step, "join");
    assert_eq!(store.next_due().await.unwrap(), Some(T0 + 4 + 1_000));
    let done = store
        .complete_step(
            j.task,
            j.token,
            json!({"joined": true}),
            dag_advance(),
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(done.run_output, Some(json!({"joined": true})));
    let record = store.run_get(&sub.run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Succeeded);
    assert_eq!(record.output, Some(json!({"joined": true})));
    let ledger = store.ledger(&sub.run_id).await.unwrap();
    assert_eq!(
        ledger.last().map(|e| e.kind.as_str()),
        Some("run-succeeded")
    );
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
    assert_eq!(store.next_due().await.unwrap(), None);
}
