//! Leases: order, fencing tokens, expiry.

use serde_json::json;
use weft_store_api::{StoreError, TaskState, WorkerSite};

use crate::Backend;
use crate::support::{T0, lease, run, task};

/// Highest priority first, then oldest `ready_at`, then lowest id; a pool
/// filter leases only from its pools.
pub async fn leases_follow_priority_ready_time_and_id(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    store
        .submit_run(run(vec![task("low", "p", 0)]), T0)
        .await
        .unwrap();
    store
        .submit_run(run(vec![task("late-high", "q", 5)]), T0 + 2)
        .await
        .unwrap();
    store
        .submit_run(run(vec![task("early-high", "p", 5)]), T0 + 1)
        .await
        .unwrap();
    store
        .submit_run(run(vec![task("same-time", "q", 5)]), T0 + 1)
        .await
        .unwrap();
    let only_q = vec!["q".to_owned()];
    let l = store
        .lease("w", Some(&only_q), 1_000, WorkerSite::Remote, T0 + 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.step, "same-time");
    let order: Vec<String> = [
        lease(&store, "w", 1_000, T0 + 3).await,
        lease(&store, "w", 1_000, T0 + 3).await,
        lease(&store, "w", 1_000, T0 + 3).await,
    ]
    .into_iter()
    .map(|l| l.step)
    .collect();
    assert_eq!(order, ["early-high", "late-high", "low"]);
    let none = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0 + 3)
        .await
        .unwrap();
    assert!(none.is_none());
    assert!(matches!(
        store.lease("", None, 1_000, WorkerSite::Remote, T0).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.queue_stats(T0 + 3).await.unwrap().inflight, 4);
}

/// A lease re-leased after its expiry gets a greater token; the old token's
/// complete, fail and renew are refused, counted and put in the ledger.
pub async fn stale_tokens_are_refused_and_recorded(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let first = lease(&store, "w1", 100, T0).await;
    assert_eq!(first.expires_at, T0 + 100);
    let renewed = store
        .renew(first.task, first.token, 500, WorkerSite::Remote, T0 + 50)
        .await;
    assert_eq!(renewed.unwrap(), T0 + 550);
    assert_eq!(
        store
            .lease_of(first.task)
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        T0 + 550
    );
    let second = lease(&store, "w2", 1_000, T0 + 600).await;
    assert_eq!(second.task, first.task);
    assert!(second.token > first.token);
    assert_eq!(second.attempt, 1, "a redelivery keeps the attempt");
    let err = store
        .complete(first.task, first.token, json!(1), vec![], None, T0 + 601)
        .await
        .unwrap_err();
    match err {
        StoreError::StaleToken {
            presented,
            current,
            state,
            ..
        } => {
            assert_eq!(
                (presented, current, state),
                (first.token, second.token, TaskState::Leased)
            );
        }
        other => panic!("expected a stale token, got {other:?}"),
    }
    assert!(matches!(
        store
            .renew(first.task, first.token, 10, WorkerSite::Remote, T0 + 602)
            .await,
        Err(StoreError::StaleToken { .. })
    ));
    assert!(matches!(
        store
            .fail(
                first.task,
                first.token,
                "x",
                weft_store_api::FailDecision::FailRun { reason: "x".into() },
                None,
                T0 + 603
            )
            .await,
        Err(StoreError::StaleToken { .. })
    ));
    let counters = store.counters().await.unwrap();
    assert_eq!((counters.stale_refusals, counters.redelivered), (3, 1));
    let kinds: Vec<String> = store
        .ledger(&s.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
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
    store
        .complete(second.task, second.token, json!(2), vec![], None, T0 + 604)
        .await
        .unwrap();
    assert!(matches!(
        store
            .complete(second.task, second.token, json!(2), vec![], None, T0 + 605)
            .await,
        Err(StoreError::StaleToken {
            state: TaskState::Done,
            ..
        })
    ));
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
}

/// A completion at or after the lease's expiry is refused although nobody
/// leased the task since, and the refusal hands the task back.
pub async fn a_lease_past_its_expiry_is_refused_and_handed_back(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let l = lease(&store, "w", 100, T0).await;
    let err = store
        .complete(l.task, l.token, json!(1), vec![], None, T0 + 100)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::StaleToken { lease_expired_at: Some(at), .. } if at == T0 + 100),
        "{err:?}"
    );
    let t = store.task_get(l.task).await.unwrap().unwrap();
    assert_eq!((t.state, t.ready_at), (TaskState::Ready, T0 + 100));
    assert!(store.lease_of(l.task).await.unwrap().is_none());
    assert_eq!(store.counters().await.unwrap().redelivered, 1);
    let again = lease(&store, "w", 100, T0 + 101).await;
    assert_eq!(again.token, l.token + 1);
}

/// `expire_leases` hands every run-out lease back; `next_due` and
/// `next_lease_expiry` name the next time to look.
pub async fn expired_leases_are_handed_back_and_due_times_reported(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    for i in 0..3 {
        store
            .submit_run(run(vec![task(&format!("s{i}"), "p", 0)]), T0)
            .await
            .unwrap();
    }
    assert_eq!(store.next_due().await.unwrap(), None);
    lease(&store, "w", 100, T0).await;
    lease(&store, "w", 200, T0).await;
    assert_eq!(store.next_lease_expiry().await.unwrap(), Some(T0 + 100));
    assert_eq!(store.next_due().await.unwrap(), Some(T0 + 100));
    assert_eq!(store.expire_leases(T0 + 99).await.unwrap(), 0);
    assert_eq!(store.expire_leases(T0 + 150).await.unwrap(), 1);
    assert_eq!(store.next_lease_expiry().await.unwrap(), Some(T0 + 200));
    assert_eq!(store.promote_and_expire(T0 + 200).await.unwrap(), 1);
    assert_eq!(store.next_lease_expiry().await.unwrap(), None);
    let stats = store.queue_stats(T0 + 200).await.unwrap();
    assert_eq!((stats.inflight, stats.ready_by_pool["p"]), (0, 3));
    assert_eq!(store.counters().await.unwrap().redelivered, 2);
}
