//! Fencing tokens: a worker whose lease expired — handed on or not — cannot
//! complete, fail or renew; the refusal is recorded.
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
use weft_store_api::{EventKind, FailDecision, RunOutcome, RunStatus, StoreError, TaskState};

#[tokio::test]
async fn stale_owner_is_refused_after_expiry_and_release() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();

    let first = store
        .lease("w1", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.token, 1);
    assert_eq!(first.expires_at, T0 + 1_000);
    // Nothing else is ready while w1 holds it.
    assert!(
        store
            .lease("w2", None, 1_000, WorkerSite::Remote, T0 + 500)
            .await
            .unwrap()
            .is_none()
    );

    // Time passes beyond the lease; w2 gets the task with a higher token.
    let second = store
        .lease("w2", None, 1_000, WorkerSite::Remote, T0 + 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.task, first.task);
    assert_eq!(second.token, 2);
    assert_eq!(store.counters().await.unwrap().redelivered, 1);

    // w1 wakes up and tries to finish: refused, typed.
    let err = store
        .complete(
            first.task,
            first.token,
            json!("late"),
            vec![],
            None,
            T0 + 1_100,
        )
        .await
        .unwrap_err();
    match err {
        StoreError::StaleToken {
            task,
            presented,
            current,
            state,
            ..
        } => {
            assert_eq!(
                (task, presented, current, state),
                (first.task, 1, 2, TaskState::Leased)
            );
        }
        other => panic!("expected StaleToken, got {other}"),
    }
    assert!(matches!(
        store
            .fail(
                first.task,
                1,
                "x",
                FailDecision::DeadLetter { reason: "r".into() },
                None,
                T0 + 1_100
            )
            .await,
        Err(StoreError::StaleToken { .. })
    ));
    assert!(matches!(
        store
            .renew(first.task, 1, 1_000, WorkerSite::Remote, T0 + 1_100)
            .await,
        Err(StoreError::StaleToken { .. })
    ));
    assert_eq!(store.counters().await.unwrap().stale_refusals, 3);

    // The refusals are in the ledger, which still verifies.
    let ledger = store.ledger(&sub.run_id).await.unwrap();
    let kinds: Vec<&str> = ledger.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "run-created",
            "step-started",
            "lease-expired",
            "step-started",
            "stale-token-refused",
            "stale-token-refused",
            "stale-token-refused"
        ]
    );
    assert_eq!(ledger[4].payload["presented"], 1);
    assert_eq!(ledger[4].payload["op"], "complete");
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());

    // w2 holds the real lease: it can renew and complete, once.
    let exp = store
        .renew(second.task, 2, 5_000, WorkerSite::Remote, T0 + 1_200)
        .await
        .unwrap();
    assert_eq!(exp, T0 + 6_200);
    store
        .complete(
            second.task,
            2,
            json!({"ok": true}),
            vec![],
            Some(RunOutcome::Succeeded { output: json!(42) }),
            T0 + 1_300,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .complete(second.task, 2, json!(null), vec![], None, T0 + 1_400)
            .await,
        Err(StoreError::StaleToken {
            state: TaskState::Done,
            ..
        })
    ));
    let r = store.run_get(&sub.run_id).await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.output, Some(json!(42)));
    assert_eq!(
        store.step_outputs(&sub.run_id).await.unwrap()["a"],
        json!({"ok": true})
    );
    let last = store.ledger(&sub.run_id).await.unwrap();
    assert_eq!(
        last.last().unwrap().kind,
        EventKind::StaleTokenRefused.as_str()
    );
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
}

#[tokio::test]
async fn expire_leases_requeues_and_renew_keeps_a_lease_alive() {
    let (_dir, store) = common::temp_store();
    store
        .submit_run(run(vec![task("a", "p", 0), task("b", "p", 0)]), T0)
        .await
        .unwrap();
    let a = store
        .lease("w1", None, 100, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let b = store
        .lease("w1", None, 100, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    store
        .renew(b.task, b.token, 1_000, WorkerSite::Remote, T0 + 50)
        .await
        .unwrap();
    assert_eq!(store.expire_leases(T0 + 100).await.unwrap(), 1);
    let stats = store.queue_stats(T0 + 100).await.unwrap();
    assert_eq!(stats.inflight, 1);
    assert_eq!(stats.ready_by_pool["p"], 1);
    assert_eq!(
        store.task_get(a.task).await.unwrap().unwrap().state,
        TaskState::Ready
    );
    assert_eq!(
        store.lease_of(b.task).await.unwrap().unwrap().expires_at,
        T0 + 1_050
    );
}

#[tokio::test]
async fn completion_enqueues_next_tasks_atomically() {
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
    assert_eq!(
        store.run_get(&sub.run_id).await.unwrap().unwrap().status,
        RunStatus::Running
    );
    store
        .complete(
            l.task,
            l.token,
            json!(1),
            vec![task("b", "q", 0), task("c", "q", 0)],
            None,
            T0 + 1,
        )
        .await
        .unwrap();
    let tasks = store.tasks_of(&sub.run_id).await.unwrap();
    let states: Vec<_> = tasks
        .iter()
        .map(|t| (t.step_id.as_str(), t.state))
        .collect();
    assert_eq!(
        states,
        [
            ("a", TaskState::Done),
            ("b", TaskState::Ready),
            ("c", TaskState::Ready)
        ]
    );
    // FailRun ends the run and drops its other open tasks.
    let b = store
        .lease("w", Some(&["q".into()]), 1_000, WorkerSite::Remote, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    store
        .fail(
            b.task,
            b.token,
            "boom",
            FailDecision::FailRun {
                reason: "boom".into(),
            },
            None,
            T0 + 3,
        )
        .await
        .unwrap();
    let r = store.run_get(&sub.run_id).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.error.as_deref()),
        (RunStatus::Failed, Some("boom"))
    );
    let states: Vec<_> = store
        .tasks_of(&sub.run_id)
        .await
        .unwrap()
        .iter()
        .map(|t| t.state)
        .collect();
    assert_eq!(
        states,
        [TaskState::Done, TaskState::Failed, TaskState::Cancelled]
    );
    assert_eq!(store.queue_stats(T0 + 3).await.unwrap(), Default::default());
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
}

/// The worker that held a lease comes back after the lease ran out, before
/// anyone re-leased the task (it was stopped 7 s past the expiry): its report
/// is refused like any stale one, and the refusal hands the task back to the
/// queue at once, for the next worker.
#[tokio::test]
async fn an_expired_lease_is_refused_even_when_nobody_took_the_task_over() {
    let (_dir, store) = common::temp_store();
    let sub = store
        .submit_run(
            run(vec![
                task("a", "p", 0),
                task("b", "p", 0),
                task("c", "p", 0),
            ]),
            T0,
        )
        .await
        .unwrap();
    let a = store
        .lease("w1", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let b = store
        .lease("w1", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let c = store
        .lease("w1", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();

    // Up to the last ms before the expiry the lease holds.
    let renewed = store
        .renew(c.task, c.token, 1_000, WorkerSite::Remote, T0 + 999)
        .await
        .unwrap();
    assert_eq!(renewed, T0 + 1_999);

    // 7 s past the expiry, and nothing has reaped the lease: still refused.
    let late = T0 + 8_000;
    let err = store
        .complete(a.task, a.token, json!("late"), vec![], None, late)
        .await
        .unwrap_err();
    match &err {
        StoreError::StaleToken {
            task,
            presented,
            current,
            state,
            lease_expired_at,
        } => assert_eq!(
            (*task, *presented, *current, *state, *lease_expired_at),
            (a.task, a.token, a.token, TaskState::Ready, Some(T0 + 1_000))
        ),
        other => panic!("expected StaleToken, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("lease ran out at 2026-11-22 00:00:01 UTC"),
        "{text}"
    );
    // Exactly at the expiry counts as run out, for fail and heartbeat too.
    let dead = FailDecision::DeadLetter { reason: "r".into() };
    assert!(matches!(
        store
            .fail(b.task, b.token, "late", dead, None, T0 + 1_000)
            .await,
        Err(StoreError::StaleToken {
            lease_expired_at: Some(_),
            ..
        })
    ));
    assert!(matches!(
        store
            .renew(c.task, c.token, 1_000, WorkerSite::Remote, T0 + 1_999)
            .await,
        Err(StoreError::StaleToken {
            lease_expired_at: Some(_),
            ..
        })
    ));
    // A second report of the same late worker is refused as plainly stale.
    assert!(matches!(
        store
            .complete(a.task, a.token, json!("again"), vec![], None, late + 1)
            .await,
        Err(StoreError::StaleToken {
            state: TaskState::Ready,
            lease_expired_at: None,
            ..
        })
    ));

    // Each refused task went back to the queue: the next lease takes it with a
    // new token, same attempt; the late output was never stored.
    for t in [a.task, b.task, c.task] {
        assert_eq!(
            store.task_get(t).await.unwrap().unwrap().state,
            TaskState::Ready
        );
    }
    assert!(store.lease_of(a.task).await.unwrap().is_none());
    let again = store
        .lease("w2", None, 1_000, WorkerSite::Remote, late + 2)
        .await
        .unwrap()
        .unwrap();
    let before = [&a, &b, &c]
        .into_iter()
        .find(|l| l.task == again.task)
        .unwrap();
    assert_eq!((again.attempt, again.token > before.token), (1, true));
    assert!(store.step_outputs(&sub.run_id).await.unwrap().is_empty());
    let counters = store.counters().await.unwrap();
    assert_eq!((counters.stale_refusals, counters.redelivered), (4, 3));
    let kinds: Vec<String> = store
        .ledger(&sub.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k == "lease-expired" || k == "stale-token-refused")
        .collect();
    assert_eq!(
        kinds,
        [
            "lease-expired",
            "stale-token-refused",
            "lease-expired",
            "stale-token-refused",
            "lease-expired",
            "stale-token-refused",
            "stale-token-refused",
        ]
    );
    let refused = store
        .ledger(&sub.run_id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "stale-token-refused")
        .unwrap();
    assert_eq!(refused.payload["lease_expired_at"], T0 + 1_000);
    assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
}
