//! Steps that end without an output of their own (`end_step`): a skipped
//! step counts as ended for fan-in; a step that fails while its run goes on
//! lets the steps after it run, and the run ends failed with its reason.

use serde_json::{Value, json};
use weft_store_api::{Advance, NextCandidate, RunStatus, StepEnd, StoreError, TaskState};

use crate::Backend;
use crate::support::{T0, lease, run, task};

/// `a` then `b` then `c`, each needing the one before.
fn chain_advance(next: Option<&str>, need: &str) -> Advance {
    Advance {
        candidates: next
            .map(|n| NextCandidate {
                task: task(n, "p", 0),
                needs: vec![need.into()],
            })
            .into_iter()
            .collect(),
        all_steps: vec!["a".into(), "b".into(), "c".into()],
        final_steps: vec!["c".into()],
    }
}

fn kinds(events: &[weft_store_api::LedgerEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// A skipped step is recorded (`step-skipped` with its reason), its task is
/// `skipped`, its output `null`, and its dependent is enqueued; a run whose
/// last step is skipped succeeds.
pub async fn a_skipped_step_counts_as_ended(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let a = lease(&store, "w", 60_000, T0).await;
    store
        .complete_step(
            a.task,
            a.token,
            json!(1),
            chain_advance(Some("b"), "a"),
            T0 + 1,
        )
        .await
        .unwrap();
    let bl = lease(&store, "w", 60_000, T0 + 2).await;
    assert_eq!(bl.step, "b");
    let skip = StepEnd::Skipped {
        reason: "`if: ${{ input.urgent }}` was false".into(),
    };
    let done = store
        .end_step(
            bl.task,
            bl.token,
            skip,
            chain_advance(Some("c"), "b"),
            T0 + 3,
        )
        .await
        .unwrap();
    assert_eq!(done.enqueued.len(), 1, "the dependent is decided next");
    assert_eq!(done.run_output, None);
    assert!(!done.run_failed);
    let skipped = store.task_get(bl.task).await.unwrap().unwrap();
    assert_eq!(skipped.state, TaskState::Skipped);
    assert_eq!(
        store.step_outputs(&s.run_id).await.unwrap()["b"],
        Value::Null
    );
    let events = store.ledger(&s.run_id).await.unwrap();
    let event = events.iter().find(|e| e.kind == "step-skipped").unwrap();
    assert_eq!(event.payload["step"], "b");
    assert_eq!(
        event.payload["reason"],
        "`if: ${{ input.urgent }}` was false"
    );
    assert_eq!(event.payload["next"], json!(done.enqueued));

    let cl = lease(&store, "w", 60_000, T0 + 4).await;
    assert_eq!(cl.step, "c");
    let skip = StepEnd::Skipped {
        reason: "need `b` was skipped".into(),
    };
    let done = store
        .end_step(cl.task, cl.token, skip, chain_advance(None, "c"), T0 + 5)
        .await
        .unwrap();
    assert_eq!(
        done.run_output,
        Some(Value::Null),
        "the final step's output"
    );
    let record = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Succeeded);
    assert_eq!(
        kinds(&store.ledger(&s.run_id).await.unwrap())[events.len()..],
        ["step-started", "step-skipped", "run-succeeded"]
    );
    assert!(store.verify(&s.run_id).await.unwrap().first_bad.is_none());
}

/// A step that fails while its run goes on: the task is `failed` with its
/// error, `step-failed` says `fail-step`, the run stays open and enqueues
/// what comes next, and ends failed with the reason once the rest has run.
pub async fn a_failed_step_lets_the_run_go_on_and_fail(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let a = lease(&store, "w", 60_000, T0).await;
    let failed = StepEnd::Failed {
        error: "boom".into(),
        reason: "step `a` failed: boom".into(),
        decided_by: Some("ab".repeat(32)),
    };
    let done = store
        .end_step(
            a.task,
            a.token,
            failed,
            chain_advance(Some("b"), "a"),
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(done.enqueued.len(), 1);
    assert!(!done.run_failed);
    let record = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert!(!record.status.is_final(), "the run goes on");
    let task_a = store.task_get(a.task).await.unwrap().unwrap();
    assert_eq!(task_a.state, TaskState::Failed);
    assert_eq!(task_a.error.as_deref(), Some("boom"));
    let events = store.ledger(&s.run_id).await.unwrap();
    let event = events.iter().find(|e| e.kind == "step-failed").unwrap();
    assert_eq!(event.payload["decision"]["decision"], "fail-step");
    assert_eq!(event.payload["decision"]["reason"], "step `a` failed: boom");
    assert_eq!(event.payload["decided_by"], "ab".repeat(32));

    // A stale token is refused as for any completion.
    let stale = StepEnd::Skipped { reason: "x".into() };
    let refused = store
        .end_step(
            a.task,
            a.token,
            stale,
            chain_advance(Some("b"), "a"),
            T0 + 2,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::StaleToken { .. })),
        "{refused:?}"
    );

    // `b` (say `if: failure()`) runs and succeeds; `c` is skipped: the run
    // ends failed, with the first failure's reason and no output.
    let bl = lease(&store, "w", 60_000, T0 + 3).await;
    store
        .complete_step(
            bl.task,
            bl.token,
            json!("cleaned up"),
            chain_advance(Some("c"), "b"),
            T0 + 4,
        )
        .await
        .unwrap();
    let cl = lease(&store, "w", 60_000, T0 + 5).await;
    let skip = StepEnd::Skipped {
        reason: "need `a` failed".into(),
    };
    let done = store
        .end_step(cl.task, cl.token, skip, chain_advance(None, "c"), T0 + 6)
        .await
        .unwrap();
    assert!(done.run_failed);
    assert_eq!(done.run_output, None);
    let record = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Failed);
    assert_eq!(record.error.as_deref(), Some("step `a` failed: boom"));
    let all = store.ledger(&s.run_id).await.unwrap();
    assert_eq!(all.last().map(|e| e.kind.as_str()), Some("run-failed"));
    assert!(store.verify(&s.run_id).await.unwrap().first_bad.is_none());
}

/// A run submitted with `not_before` waits: its first task is delayed (no
/// lease before then), `next_due` names the time, and it is leased once
/// promoted at that time; `run-created` records `not_before`.
pub async fn a_run_can_wait_to_start(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let at = T0 + 60_000;
    let mut new = run(vec![task("a", "p", 0)]);
    new.not_before = Some(at);
    let s = store.submit_run(new, T0).await.unwrap();
    let tasks = store.tasks_of(&s.run_id).await.unwrap();
    assert_eq!(tasks[0].state, TaskState::Delayed);
    assert_eq!(tasks[0].ready_at, at);
    let early = store
        .lease(
            "w",
            None,
            60_000,
            weft_store_api::WorkerSite::Remote,
            T0 + 1,
        )
        .await
        .unwrap();
    assert!(early.is_none(), "nothing to lease before not_before");
    assert_eq!(store.next_due().await.unwrap(), Some(at));
    let record = store.run_get(&s.run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Queued);
    let created = &store.ledger(&s.run_id).await.unwrap()[0];
    assert_eq!(created.payload["not_before"], json!(at));

    store.promote_and_expire(at).await.unwrap();
    let l = lease(&store, "w", 60_000, at).await;
    assert_eq!(l.run, s.run_id);

    // A `not_before` already past starts the run at once.
    let mut new = run(vec![task("a", "p", 0)]);
    new.not_before = Some(T0);
    let now = store.submit_run(new, at + 1).await.unwrap();
    let tasks = store.tasks_of(&now.run_id).await.unwrap();
    assert_eq!(tasks[0].state, TaskState::Ready);
}
