//! Queue order, delayed tasks, the dead-letter queue, cancel, journal, artifacts.
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
use weft_store_api::{FailDecision, RunStatus, StoreError, TaskState};

#[tokio::test]
async fn priority_then_ready_time_then_id_within_and_across_pools() {
    let (_dir, store) = common::temp_store();
    store
        .submit_run(run(vec![task("low", "p", 1), task("high", "p", 9)]), T0)
        .await
        .unwrap();
    store
        .submit_run(
            run(vec![task("high-later", "p", 9), task("mid-q", "q", 5)]),
            T0 + 10,
        )
        .await
        .unwrap();
    store
        .submit_run(run(vec![task("top-q", "q", 10)]), T0 + 20)
        .await
        .unwrap();

    let mut order = Vec::new();
    while let Some(l) = store
        .lease("w", None, 60_000, WorkerSite::Remote, T0 + 30)
        .await
        .unwrap()
    {
        order.push(l.step);
    }
    assert_eq!(order, ["top-q", "high", "high-later", "mid-q", "low"]);
}

#[tokio::test]
async fn pool_filter_only_hands_out_those_pools() {
    let (_dir, store) = common::temp_store();
    store
        .submit_run(run(vec![task("a", "gpu", 9), task("b", "cpu", 0)]), T0)
        .await
        .unwrap();
    let l = store
        .lease("w", Some(&["cpu".into()]), 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.step, "b");
    assert!(
        store
            .lease(
                "w",
                Some(&["cpu".into(), "io".into()]),
                1_000,
                WorkerSite::Remote,
                T0
            )
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .lease("w", Some(&[]), 1_000, WorkerSite::Remote, T0)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn retried_task_waits_until_ready_at() {
    let (_dir, store) = common::temp_store();
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let l = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    store
        .fail(
            l.task,
            l.token,
            "flaky",
            FailDecision::Retry { at_ms: T0 + 5_000 },
            None,
            T0 + 10,
        )
        .await
        .unwrap();
    let stats = store.queue_stats(T0 + 4_999).await.unwrap();
    assert_eq!(
        (stats.delayed, stats.delayed_due, stats.inflight),
        (1, 0, 0)
    );
    assert!(
        store
            .lease("w", None, 1_000, WorkerSite::Remote, T0 + 4_999)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.queue_stats(T0 + 5_000).await.unwrap().delayed_due, 1);
    let again = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0 + 5_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.task, again.attempt, again.token), (l.task, 2, 2));
}

#[tokio::test]
async fn dead_letters_can_be_listed_requeued_and_purged() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0), task("b", "p", 0)]), T0)
        .await
        .unwrap();
    for _ in 0..2 {
        let l = store
            .lease("w", None, 1_000, WorkerSite::Remote, T0)
            .await
            .unwrap()
            .unwrap();
        let reason = FailDecision::DeadLetter {
            reason: format!("poison {}", l.step),
        };
        store
            .fail(l.task, l.token, "bad input", reason, None, T0 + 1)
            .await
            .unwrap();
    }
    let dlq = store.dlq_list().await.unwrap();
    assert_eq!(dlq.len(), 2);
    assert_eq!(dlq[0].reason, "poison a");
    assert_eq!(dlq[0].run, sub.run_id);
    assert_eq!(store.queue_stats(T0 + 2).await.unwrap().dlq, 2);

    store.dlq_requeue(dlq[0].task, T0 + 100).await.unwrap();
    let l = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0 + 200)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((l.task, l.attempt), (dlq[0].task, 2));
    let kinds: Vec<_> = store
        .ledger(&sub.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"task-requeued".to_string()));
    assert!(kinds.contains(&"step-dead-lettered".to_string()));

    // Purging b: its step never gets an output, so the run fails now, and a
    // (still running) is cancelled with it.
    let purged = store.dlq_purge(dlq[1].task, T0 + 300).await.unwrap();
    assert_eq!(purged.run_ended, Some(RunStatus::Failed));
    assert_eq!(
        (purged.run.as_str(), purged.step.as_str()),
        (sub.run_id.as_str(), "b")
    );
    assert!(store.dlq_list().await.unwrap().is_empty());
    let r = store.run_get(&sub.run_id).await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    let error = r.error.unwrap();
    assert!(
        error.contains("step `b`") && error.contains("purged") && error.contains("poison b"),
        "{error}"
    );
    let states: Vec<_> = store
        .tasks_of(&sub.run_id)
        .await
        .unwrap()
        .iter()
        .map(|t| t.state)
        .collect();
    assert_eq!(states, [TaskState::Cancelled, TaskState::Dead]);
    assert!(matches!(
        store.dlq_purge(dlq[1].task, T0 + 301).await,
        Err(StoreError::NotDeadLettered {
            state: TaskState::Dead,
            ..
        })
    ));
    assert_eq!(
        store.queue_stats(T0 + 301).await.unwrap(),
        Default::default()
    );
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
}

/// The run of a purged dead letter does not stay `running` for ever: with its
/// last open task purged, the run fails, saying why, and its ledger ends with
/// `run-failed`. A dead letter of a run that has already ended is just dropped.
#[tokio::test]
async fn purging_the_last_open_task_ends_the_run() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let l = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let dead = FailDecision::DeadLetter {
        reason: "gave up after 1 attempts".into(),
    };
    store
        .fail(l.task, l.token, "boom", dead, None, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        store.run_get(&sub.run_id).await.unwrap().unwrap().status,
        RunStatus::Running
    );

    let purged = store.dlq_purge(l.task, T0 + 2).await.unwrap();
    assert_eq!(purged.run_ended, Some(RunStatus::Failed));
    let r = store.run_get(&sub.run_id).await.unwrap().unwrap();
    assert_eq!((r.status, r.updated_ms), (RunStatus::Failed, T0 + 2));
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("gave up after 1 attempts"),
        "{r:?}"
    );
    let ledger = store.ledger(&sub.run_id).await.unwrap();
    let kinds: Vec<&str> = ledger.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds[kinds.len() - 2..], ["task-purged", "run-failed"]);
    assert_eq!(ledger.last().unwrap().payload["error"], json!(r.error));

    // A run that ended otherwise keeps its end; purging its letter only drops it.
    let sub = store
        .submit_run(run(vec![task("a", "p", 0), task("b", "p", 0)]), T0)
        .await
        .unwrap();
    let a = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let b = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let dead = FailDecision::DeadLetter { reason: "r".into() };
    store
        .fail(a.task, a.token, "x", dead, None, T0 + 1)
        .await
        .unwrap();
    let fail = FailDecision::FailRun {
        reason: "b broke".into(),
    };
    store
        .fail(b.task, b.token, "y", fail, None, T0 + 2)
        .await
        .unwrap();
    let purged = store.dlq_purge(a.task, T0 + 3).await.unwrap();
    assert_eq!(purged.run_ended, None);
    let r = store.run_get(&sub.run_id).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.error.as_deref()),
        (RunStatus::Failed, Some("b broke"))
    );
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
}

#[tokio::test]
async fn cancel_drops_open_tasks_and_refuses_later_changes() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0), task("b", "p", 0)]), T0)
        .await
        .unwrap();
    let l = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    store.cancel(&sub.run_id, None, T0 + 1).await.unwrap();
    assert_eq!(
        store.run_get(&sub.run_id).await.unwrap().unwrap().status,
        RunStatus::Cancelled
    );
    assert!(matches!(
        store.cancel(&sub.run_id, None, T0 + 2).await,
        Err(StoreError::RunFinished {
            status: RunStatus::Cancelled,
            ..
        })
    ));
    assert!(matches!(
        store
            .complete(l.task, l.token, json!(1), vec![], None, T0 + 2)
            .await,
        Err(StoreError::StaleToken {
            state: TaskState::Cancelled,
            ..
        })
    ));
    assert_eq!(store.queue_stats(T0 + 2).await.unwrap(), Default::default());
    assert!(
        store
            .lease("w", None, 1_000, WorkerSite::Remote, T0 + 3)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.cancel("nope", None, T0).await,
        Err(StoreError::RunNotFound(_))
    ));
}

#[tokio::test]
async fn journal_first_answer_wins_and_artifacts_round_trip() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let id = sub.run_id.as_str();
    assert!(
        store
            .journal_put(id, "a", 0, json!({"text": "hi"}), T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .journal_put(id, "a", 0, json!({"text": "other"}), T0)
            .await
            .unwrap()
    );
    assert_eq!(
        store.journal_get(id, "a", 0).await.unwrap(),
        Some(json!({"text": "hi"}))
    );
    assert_eq!(store.journal_get(id, "a", 1).await.unwrap(), None);

    store
        .artifact_put(id, "report", json!({"rows": 3}), T0)
        .await
        .unwrap();
    store
        .artifact_put(id, "chart", json!([1, 2]), T0)
        .await
        .unwrap();
    store
        .artifact_put(id, "report", json!({"rows": 4}), T0)
        .await
        .unwrap();
    assert_eq!(
        store.artifact_get(id, "report").await.unwrap(),
        Some(json!({"rows": 4}))
    );
    assert_eq!(store.artifact_list(id).await.unwrap(), ["chart", "report"]);
    assert!(matches!(
        store.artifact_put("missing", "k", json!(1), T0).await,
        Err(StoreError::RunNotFound(_))
    ));
    let kinds: Vec<_> = store
        .ledger(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "run-created",
            "model-call-journaled",
            "artifact-put",
            "artifact-put",
            "artifact-put"
        ]
    );
}

#[tokio::test]
async fn oldest_ready_age_and_depth_per_pool() {
    let (_dir, store) = common::temp_store();
    store
        .submit_run(run(vec![task("a", "p", 0), task("b", "q", 0)]), T0)
        .await
        .unwrap();
    store
        .submit_run(run(vec![task("c", "q", 0)]), T0 + 500)
        .await
        .unwrap();
    let stats = store.queue_stats(T0 + 1_000).await.unwrap();
    assert_eq!(stats.ready_by_pool.get("p"), Some(&1));
    assert_eq!(stats.ready_by_pool.get("q"), Some(&2));
    assert_eq!(stats.oldest_ready_age_ms, Some(1_000));
}
