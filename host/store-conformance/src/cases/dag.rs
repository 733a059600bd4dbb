//! DAG runs: fan-in, the last step, complete-and-lease, retries, dead letters.

use serde_json::json;
use weft_store_api::{
    Advance, FailDecision, NextCandidate, NextLease, RunStatus, StoreError, TaskState, WorkerSite,
};

use crate::Backend;
use crate::support::{T0, lease, run, task};

fn join_advance() -> Advance {
    Advance {
        candidates: vec![NextCandidate {
            task: task("join", "p", 0),
            needs: vec!["left".into(), "right".into()],
        }],
        all_steps: vec!["left".into(), "right".into(), "join".into()],
        final_steps: vec!["join".into()],
    }
}

/// Two branches completing at the same time enqueue the join once (ten
/// times over).
pub async fn concurrent_branches_enqueue_the_join_exactly_once(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    for round in 0..10 {
        let s = store
            .submit_run(run(vec![task("left", "p", 0), task("right", "p", 0)]), T0)
            .await
            .unwrap();
        let a = lease(&store, "w1", 60_000, T0).await;
        let c = lease(&store, "w2", 60_000, T0).await;
        let (ra, rc) = tokio::join!(
            store.complete_step(a.task, a.token, json!({"side": 1}), join_advance(), T0 + 1),
            store.complete_step(c.task, c.token, json!({"side": 2}), join_advance(), T0 + 1),
        );
        let enqueued = ra.unwrap().enqueued.len() + rc.unwrap().enqueued.len();
        assert_eq!(
            enqueued, 1,
            "round {round}: exactly one completion enqueues the join"
        );
        let joins = store
            .tasks_of(&s.run_id)
            .await
            .unwrap()
            .iter()
            .filter(|t| t.step_id == "join")
            .count();
        assert_eq!(joins, 1, "round {round}");
        let j = lease(&store, "w1", 60_000, T0 + 2).await;
        assert_eq!(j.step, "join");
        store
            .complete_step(j.task, j.token, json!(round), join_advance(), T0 + 3)
            .await
            .unwrap();
    }
}

/// One branch alone does not enqueue the join; the join's completion
/// finishes the run with the final step's output.
pub async fn the_last_step_finishes_the_run(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let mut new = run(vec![task("left", "p", 0), task("right", "p", 0)]);
    new.priority = 4;
    let s = store.submit_run(new, T0).await.unwrap();
    let a = lease(&store, "w1", 1_000, T0).await;
    let done = store
        .complete_step(a.task, a.token, json!(1), join_advance(), T0 + 1)
        .await
        .unwrap();
    assert!(done.enqueued.is_empty());
    let c = lease(&store, "w2", 1_000, T0 + 2).await;
    let done = store
        .complete_step(c.task, c.token, json!(2), join_advance(), T0 + 3)
        .await
        .unwrap();
    assert_eq!(done.enqueued.len(), 1);
    assert_eq!(done.run_output, None);
    let joined = store.task_get(done.enqueued[0]).await.unwrap().unwrap();
    assert_eq!(joined.priority, 4, "later steps keep the run's priority");
    let j = lease(&store, "w1", 1_000, T0 + 4).await;
    let done = store
        .complete_step(
            j.task,
            j.token,
            json!({"joined": true}),
            join_advance(),
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(done.run_output, Some(json!({"joined": true})));
    let record = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.output),
        (RunStatus::Succeeded, Some(json!({"joined": true})))
    );
    let outputs = store.step_outputs(&s.run_id).await.unwrap();
    assert_eq!(outputs.len(), 3);
    assert_eq!(
        store.ledger(&s.run_id).await.unwrap().pop().unwrap().kind,
        "run-succeeded"
    );
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
    let events = store.run_events(&s.run_id, 2).await.unwrap().unwrap();
    assert_eq!(events.open_tasks, 0);
    assert!(!events.is_moving());
    assert_eq!(events.events.first().map(|e| e.seq), Some(3));
    assert_eq!(events.last_seq, events.events.last().unwrap().seq);
}

/// A completion and the next lease are one decision: a refused completion
/// leases nothing.
pub async fn complete_step_and_lease_is_one_decision(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    store
        .submit_run(run(vec![task("b", "p", 0)]), T0 + 1)
        .await
        .unwrap();
    let a = lease(&store, "w", 1_000, T0 + 2).await;
    let next = NextLease {
        owner: "w".into(),
        pools: None,
        lease_ms: 1_000,
    };
    let err = store
        .complete_step_and_lease(
            a.task,
            a.token + 7,
            json!(1),
            Advance::default(),
            &next,
            T0 + 3,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::StaleToken { .. }), "{err:?}");
    assert_eq!(store.queue_stats(T0 + 3).await.unwrap().inflight, 1);
    let (done, leased) = store
        .complete_step_and_lease(a.task, a.token, json!(1), Advance::default(), &next, T0 + 3)
        .await
        .unwrap();
    assert!(done.enqueued.is_empty());
    assert_eq!(leased.unwrap().step, "b");
}

/// `fail(Retry)` delays the task (attempt + 1) until its time; `FailRun`
/// ends the run and cancels its other tasks.
pub async fn retries_then_a_failed_run(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0), task("b", "p", 0)]), T0)
        .await
        .unwrap();
    let a = lease(&store, "w", 1_000, T0).await;
    store
        .fail(
            a.task,
            a.token,
            "boom",
            FailDecision::Retry { at_ms: T0 + 500 },
            Some("cafe"),
            T0 + 1,
        )
        .await
        .unwrap();
    let t = store.task_get(a.task).await.unwrap().unwrap();
    assert_eq!(
        (t.state, t.attempt, t.ready_at),
        (TaskState::Delayed, 2, T0 + 500)
    );
    assert_eq!(t.error.as_deref(), Some("boom"));
    let stats = store.queue_stats(T0 + 499).await.unwrap();
    assert_eq!((stats.delayed, stats.delayed_due), (1, 0));
    assert_eq!(store.next_due().await.unwrap(), Some(T0 + 500));
    let other = lease(&store, "w", 1_000, T0 + 2).await;
    assert_eq!(other.step, "b");
    assert!(
        store
            .lease("w", None, 1_000, WorkerSite::Remote, T0 + 499)
            .await
            .unwrap()
            .is_none()
    );
    let again = lease(&store, "w", 1_000, T0 + 500).await;
    assert_eq!((again.task, again.attempt), (a.task, 2));
    let failed = store.ledger(&s.run_id).await.unwrap();
    let step_failed = failed.iter().find(|e| e.kind == "step-failed").unwrap();
    assert_eq!(step_failed.payload["decided_by"], json!("cafe"));
    assert_eq!(step_failed.payload["decision"]["decision"], json!("retry"));
    store
        .fail(
            again.task,
            again.token,
            "fatal",
            FailDecision::FailRun {
                reason: "gave up".into(),
            },
            None,
            T0 + 501,
        )
        .await
        .unwrap();
    let r = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.error.as_deref()),
        (RunStatus::Failed, Some("gave up"))
    );
    let states: Vec<TaskState> = store
        .tasks_of(&s.run_id)
        .await
        .unwrap()
        .iter()
        .map(|t| t.state)
        .collect();
    assert_eq!(states, [TaskState::Failed, TaskState::Cancelled]);
    let end = store.ledger(&s.run_id).await.unwrap().pop().unwrap();
    assert_eq!(end.kind, "run-failed");
    assert_eq!(end.payload["cancelled_tasks"], json!([other.task]));
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
}

/// A dead-lettered task waits; a requeue puts it back (attempt + 1); a purge
/// drops it and fails its open run in the same transaction.
pub async fn dead_letters_requeue_and_purge(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let l = lease(&store, "w", 1_000, T0).await;
    let dead = FailDecision::DeadLetter {
        reason: "poison".into(),
    };
    store
        .fail(l.task, l.token, "bad input", dead.clone(), None, T0 + 1)
        .await
        .unwrap();
    let letters = store.dlq_list().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (
            letters[0].task,
            letters[0].reason.as_str(),
            letters[0].time_ms
        ),
        (l.task, "poison", T0 + 1)
    );
    assert_eq!(store.queue_stats(T0 + 1).await.unwrap().dlq, 1);
    let r = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Running);
    assert!(
        !store
            .run_events(&s.run_id, 0)
            .await
            .unwrap()
            .unwrap()
            .is_moving()
    );

    store.dlq_requeue(l.task, T0 + 2).await.unwrap();
    assert!(store.dlq_list().await.unwrap().is_empty());
    assert!(matches!(
        store.dlq_requeue(l.task, T0 + 2).await,
        Err(StoreError::NotDeadLettered {
            state: TaskState::Ready,
            ..
        })
    ));
    let again = lease(&store, "w", 1_000, T0 + 3).await;
    assert_eq!(again.attempt, 2);
    store
        .fail(again.task, again.token, "still bad", dead, None, T0 + 4)
        .await
        .unwrap();
    let purged = store.dlq_purge(again.task, T0 + 5).await.unwrap();
    assert_eq!(
        (purged.task, purged.run_ended),
        (l.task, Some(RunStatus::Failed))
    );
    let r = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.error
            .unwrap()
            .contains("purged from the dead-letter queue; it had been dead-lettered: poison")
    );
    assert_eq!(
        store.task_get(l.task).await.unwrap().unwrap().state,
        TaskState::Dead
    );
    assert!(matches!(
        store.dlq_purge(l.task, T0 + 6).await,
        Err(StoreError::NotDeadLettered { .. })
    ));
    let kinds: Vec<String> = store
        .ledger(&s.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(&kinds[kinds.len() - 2..], ["task-purged", "run-failed"]);
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
}

/// Cancels racing workers that lease and complete the same runs: every run
/// ends (succeeded, or cancelled if a cancel came first), no task of an
/// ended run is left open or leased, and every ledger verifies. The only
/// refusals are a stale token and a finished run.
pub async fn cancels_race_leases_and_completions(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let steps: Vec<String> = (0..3).map(|i| format!("s{i}")).collect();
    let advance = Advance {
        candidates: vec![],
        all_steps: steps.clone(),
        final_steps: vec!["s2".into()],
    };
    let mut runs = Vec::new();
    for _ in 0..24 {
        let tasks = steps.iter().map(|s| task(s, "p", 0)).collect();
        runs.push(store.submit_run(run(tasks), T0).await.unwrap().run_id);
    }
    let allowed = |e: &StoreError| {
        matches!(
            e,
            StoreError::StaleToken { .. } | StoreError::RunFinished { .. }
        )
    };
    let mut set = tokio::task::JoinSet::new();
    for w in 0..6 {
        let (store, advance) = (store.clone(), advance.clone());
        set.spawn(async move {
            let owner = format!("w{w}");
            while let Some(l) = store
                .lease(&owner, None, 60_000, WorkerSite::Remote, T0 + 1)
                .await
                .unwrap()
            {
                let r = store
                    .complete_step(l.task, l.token, json!(w), advance.clone(), T0 + 2)
                    .await;
                if let Err(e) = r {
                    assert!(allowed(&e), "a completion: {e:?}");
                }
            }
        });
    }
    {
        let store = store.clone();
        let doomed: Vec<String> = runs.iter().step_by(3).cloned().collect();
        set.spawn(async move {
            for run in doomed {
                if let Err(e) = store.cancel(&run, None, T0 + 2).await {
                    assert!(allowed(&e), "a cancel: {e:?}");
                }
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    for (i, run) in runs.iter().enumerate() {
        let r = store.run_get(run).await.unwrap().unwrap();
        let ok = if i % 3 == 0 {
            matches!(r.status, RunStatus::Succeeded | RunStatus::Cancelled)
        } else {
            r.status == RunStatus::Succeeded
        };
        assert!(ok, "run {i} is {}", r.status);
        for t in store.tasks_of(run).await.unwrap() {
            assert!(
                matches!(t.state, TaskState::Done | TaskState::Cancelled),
                "{t:?}"
            );
            assert!(store.lease_of(t.id).await.unwrap().is_none());
        }
        assert!(store.verify(run).await.unwrap().is_ok(), "run {i}");
    }
    let stats = store.queue_stats(T0 + 3).await.unwrap();
    assert_eq!((stats.inflight, stats.ready_by_pool.len()), (0, 0));
}
