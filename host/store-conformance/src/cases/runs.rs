//! Submitting runs: idempotency, cancel, journal, artifacts, reopen.

use serde_json::json;
use weft_store_api::{RunFilter, RunStatus, StoreError, TaskState, ToolCall, WorkerSite};

use crate::Backend;
use crate::support::{T0, lease, run, task};

/// A run is stored with its first tasks and a `run-created` event.
pub async fn submit_and_read_back(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let mut new = run(vec![task("a", "p", 1), task("b", "q", 0)]);
    new.priority = 3;
    let s = store.submit_run(new, T0).await.unwrap();
    assert!(s.created);
    assert!(s.run_id.starts_with("acme-2026-11-22-001-"), "{}", s.run_id);
    let second = store
        .submit_run(run(vec![task("a", "p", 0)]), T0 + 1)
        .await
        .unwrap();
    assert!(
        second.run_id.starts_with("acme-2026-11-22-002-"),
        "{}",
        second.run_id
    );

    let r = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.priority, r.created_ms),
        (RunStatus::Queued, 3, T0)
    );
    assert_eq!(r.input, json!({"n": 1}));
    let tasks = store.tasks_of(&s.run_id).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks[0].id < tasks[1].id);
    assert_eq!(
        (
            tasks[0].step_id.as_str(),
            tasks[0].attempt,
            tasks[0].state,
            tasks[0].last_token
        ),
        ("a", 1, TaskState::Ready, 0)
    );
    assert_eq!(tasks[1].tenant, "acme");
    assert_eq!(
        store.task_get(tasks[1].id).await.unwrap().unwrap(),
        tasks[1]
    );
    assert!(store.task_get(9_999).await.unwrap().is_none());
    let ledger = store.ledger(&s.run_id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].kind, "run-created");
    assert_eq!(ledger[0].prev_hash, "0".repeat(64));
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());

    let newest_first = store.runs_list(10, &RunFilter::default()).await.unwrap();
    let ids: Vec<_> = newest_first.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, vec![second.run_id.clone(), s.run_id.clone()]);
    assert_eq!(
        store.run_ids().await.unwrap(),
        vec![s.run_id.clone(), second.run_id]
    );
    let filter = RunFilter {
        flow_id: Some("other".into()),
        ..RunFilter::default()
    };
    assert!(store.runs_list(10, &filter).await.unwrap().is_empty());
    assert_eq!(store.counters().await.unwrap().tasks_created, 3);
    assert!(matches!(
        store.submit_run(run(vec![task("", "p", 0)]), T0).await,
        Err(StoreError::Invalid(_))
    ));
    let mut bad = run(vec![]);
    bad.id_prefix = "Bad Prefix".into();
    assert!(matches!(
        store.submit_run(bad, T0).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(store.run_get("nope").await.unwrap().is_none());
}

/// A live key returns its run; another input is a conflict; an expired key
/// is taken over; expired keys are purged oldest first.
pub async fn idempotency_keys_name_one_run(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let keyed = |key: &str, ttl: u64, n: i64| {
        let mut r = run(vec![task("a", "p", 0)]);
        r.idempotency_key = Some((key.into(), ttl));
        r.input = json!({ "n": n });
        r
    };
    let first = store.submit_run(keyed("k", 1_000, 1), T0).await.unwrap();
    let again = store
        .submit_run(keyed("k", 1_000, 1), T0 + 999)
        .await
        .unwrap();
    assert_eq!(again.run_id, first.run_id);
    assert!(!again.created);
    let err = store
        .submit_run(keyed("k", 1_000, 2), T0 + 10)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyConflict { ref run, .. } if *run == first.run_id));
    assert_eq!(
        store.idempotency_get("k").await.unwrap(),
        Some((first.run_id.clone(), T0 + 1_000))
    );
    // At its expiry the key is free: a new run takes it over.
    let later = store
        .submit_run(keyed("k", 1_000, 2), T0 + 1_000)
        .await
        .unwrap();
    assert!(later.created);
    assert_ne!(later.run_id, first.run_id);
    assert_eq!(
        store.idempotency_get("k").await.unwrap(),
        Some((later.run_id, T0 + 2_000))
    );

    store.submit_run(keyed("a", 10, 1), T0).await.unwrap();
    store.submit_run(keyed("b", 20, 1), T0).await.unwrap();
    assert_eq!(store.idempotency_count().await.unwrap(), 3);
    assert_eq!(store.purge_idempotency(T0 + 15, 10).await.unwrap(), 1);
    assert_eq!(store.idempotency_get("a").await.unwrap(), None);
    assert_eq!(store.purge_idempotency(T0 + 5_000, 1).await.unwrap(), 1);
    assert_eq!(store.purge_idempotency(T0 + 5_000, 10).await.unwrap(), 1);
    assert_eq!(store.idempotency_count().await.unwrap(), 0);
}

/// Sixteen submits of one key at once make one run, and all name it.
pub async fn concurrent_submits_with_one_key_create_one_run(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let store = store.clone();
        set.spawn(async move {
            let mut r = run(vec![task("a", "p", 0)]);
            r.idempotency_key = Some(("once".into(), 60_000));
            store.submit_run(r, T0).await.unwrap()
        });
    }
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    while let Some(s) = set.join_next().await {
        let s = s.unwrap();
        created += usize::from(s.created);
        ids.insert(s.run_id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(
        store
            .runs_list(100, &RunFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A cancel ends the run and its open tasks; a finished run takes no more.
pub async fn cancel_ends_a_run_and_its_tasks(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0), task("b", "p", 0)]), T0)
        .await
        .unwrap();
    let l = lease(&store, "w", 1_000, T0).await;
    store
        .cancel(&s.run_id, Some("  no longer wanted "), T0 + 1)
        .await
        .unwrap();
    let r = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Cancelled);
    // The reason is the run's error and the end event's reason.
    assert_eq!(r.error.as_deref(), Some("cancelled: no longer wanted"));
    let end = store
        .ledger(&s.run_id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "run-cancelled")
        .unwrap();
    assert_eq!(end.payload["reason"], "cancelled: no longer wanted");
    assert!(
        store
            .tasks_of(&s.run_id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.state == TaskState::Cancelled)
    );
    assert!(store.lease_of(l.task).await.unwrap().is_none());
    let err = store.cancel(&s.run_id, None, T0 + 2).await.unwrap_err();
    assert!(matches!(err, StoreError::RunFinished { .. }), "{err:?}");
    assert!(matches!(
        store
            .complete(l.task, l.token, json!(1), vec![], None, T0 + 3)
            .await,
        Err(StoreError::StaleToken { .. })
    ));
    let last = store.ledger(&s.run_id).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "stale-token-refused");
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
    assert!(matches!(
        store.cancel("nope", None, T0).await,
        Err(StoreError::RunNotFound(_))
    ));
    assert!(
        store
            .lease("w", None, 1_000, WorkerSite::Remote, T0 + 4)
            .await
            .unwrap()
            .is_none()
    );
}

/// The first journaled answer wins; artifacts overwrite; tool calls are
/// recorded; each in the ledger.
pub async fn journal_artifacts_and_tool_calls(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    assert!(
        store
            .journal_put(&s.run_id, "a", 0, json!("first"), T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .journal_put(&s.run_id, "a", 0, json!("second"), T0)
            .await
            .unwrap()
    );
    assert_eq!(
        store.journal_get(&s.run_id, "a", 0).await.unwrap(),
        Some(json!("first"))
    );
    assert_eq!(store.journal_get(&s.run_id, "a", 1).await.unwrap(), None);
    assert!(matches!(
        store.journal_put("nope", "a", 0, json!(1), T0).await,
        Err(StoreError::RunNotFound(_))
    ));
    store
        .artifact_put(&s.run_id, "k2", json!({"v": 1}), T0)
        .await
        .unwrap();
    store
        .artifact_put(&s.run_id, "k1", json!([1]), T0)
        .await
        .unwrap();
    store
        .artifact_put(&s.run_id, "k2", json!({"v": 2}), T0)
        .await
        .unwrap();
    assert_eq!(
        store.artifact_get(&s.run_id, "k2").await.unwrap(),
        Some(json!({"v": 2}))
    );
    assert_eq!(
        store.artifact_list(&s.run_id).await.unwrap(),
        vec!["k1", "k2"]
    );
    assert!(matches!(
        store.artifact_put(&s.run_id, "", json!(1), T0).await,
        Err(StoreError::Invalid(_))
    ));
    let call = ToolCall {
        step: "a".into(),
        index: 0,
        plugin: "search".into(),
        sha256: "ab".repeat(32),
        error: None,
    };
    store.tool_called(&s.run_id, call, T0).await.unwrap();
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
            "model-call-journaled",
            "artifact-put",
            "artifact-put",
            "artifact-put",
            "tool-called"
        ]
    );
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
}

/// What was acknowledged is there after the store is closed and opened again.
pub async fn writes_survive_a_reopen(b: &dyn Backend) {
    let (store, id) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let l = lease(&store, "w", 1_000, T0).await;
    store
        .journal_put(&s.run_id, "a", 0, json!("answer"), T0)
        .await
        .unwrap();
    store
        .complete(
            l.task,
            l.token,
            json!({"ok": true}),
            vec![task("b", "p", 0)],
            None,
            T0 + 1,
        )
        .await
        .unwrap();
    let head = store.ledger(&s.run_id).await.unwrap().pop().unwrap().hash;
    store.close().await;
    drop(store);
    let store = b.reopen(&id).await;
    assert_eq!(
        store.step_outputs(&s.run_id).await.unwrap()["a"],
        json!({"ok": true})
    );
    assert_eq!(
        store.journal_get(&s.run_id, "a", 0).await.unwrap(),
        Some(json!("answer"))
    );
    assert_eq!(
        store.ledger(&s.run_id).await.unwrap().pop().unwrap().hash,
        head
    );
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
    let next = lease(&store, "w2", 1_000, T0 + 2).await;
    assert_eq!(next.step, "b");
    assert!(next.token >= 1);
}

/// Run ids count per prefix and per UTC day; a completion that finishes its
/// run cannot also enqueue tasks.
pub async fn run_ids_count_per_prefix_and_utc_day(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let day = 86_400_000;
    let with_prefix = |prefix: &str| {
        let mut r = run(vec![task("a", "p", 0)]);
        r.id_prefix = prefix.into();
        r
    };
    let a1 = store
        .submit_run(with_prefix("acme"), T0 + day - 1)
        .await
        .unwrap()
        .run_id;
    let b1 = store
        .submit_run(with_prefix("beta"), T0 + day - 1)
        .await
        .unwrap()
        .run_id;
    let a2 = store
        .submit_run(with_prefix("acme"), T0 + day)
        .await
        .unwrap()
        .run_id;
    let a3 = store
        .submit_run(with_prefix("acme"), T0 + day + 1)
        .await
        .unwrap()
        .run_id;
    assert!(a1.starts_with("acme-2026-11-22-001-"), "{a1}");
    assert!(b1.starts_with("beta-2026-11-22-001-"), "{b1}");
    assert!(a2.starts_with("acme-2026-11-23-001-"), "{a2}");
    assert!(a3.starts_with("acme-2026-11-23-002-"), "{a3}");
    assert_eq!(weft_store_api::prefix_of(&a3), Some("acme"));

    let l = lease(&store, "w", 1_000, T0 + day + 2).await;
    let err = store
        .complete(
            l.task,
            l.token,
            json!(1),
            vec![task("b", "p", 0)],
            Some(weft_store_api::RunOutcome::Succeeded { output: json!(1) }),
            T0 + day + 3,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(
        store.task_get(l.task).await.unwrap().unwrap().state,
        TaskState::Leased
    );
}
