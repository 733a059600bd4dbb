//! The source store the copy case copies: a redb store with a run of every
//! kind, a schedule fire, a lock, charges and a swapped component.

use serde_json::json;
use weft_store_api::{
    Advance, Charge, FailDecision, NewRun, NextCandidate, Override, RunOutcome, ScheduleId,
    ScheduleTick, ScheduledRun, SharedStore, Swap, ToolCall,
};

use crate::support::{T0, lease, run, task};

/// A day in ms.
pub const DAY: u64 = 24 * 60 * 60 * 1000;

/// What the source holds that the case looks up again.
pub struct Source {
    /// The store.
    pub store: SharedStore,
    /// The run in flight: `left` done, `right` waiting out a retry, `join` to come.
    pub in_flight: String,
    /// The task of the in-flight run waiting out its retry.
    pub retried_task: u64,
    /// The run whose only task holds a lease.
    pub leased_run: String,
    /// That task.
    pub leased_task: u64,
}

/// The fan-in of the in-flight run: `join` needs `left` and `right`.
pub fn join_advance() -> Advance {
    Advance {
        candidates: vec![NextCandidate {
            task: task("join", "p", 0),
            needs: vec!["left".into(), "right".into()],
        }],
        all_steps: vec!["left".into(), "right".into(), "join".into()],
        final_steps: vec!["join".into()],
    }
}

/// The schedule the source fired.
pub fn schedule() -> ScheduleId {
    ScheduleId::new("demo", "0|0 * * * * *|UTC")
}

fn with_key(mut r: NewRun, key: &str) -> NewRun {
    r.idempotency_key = Some((key.into(), T0 + DAY));
    r
}

/// Fills `store` (fresh) with runs of every kind.
pub async fn build(store: SharedStore) -> Source {
    let one = || run(vec![task("a", "p", 0)]);
    // Succeeded, with an idempotency key.
    let ok = store
        .submit_run(with_key(one(), "key-ok"), T0)
        .await
        .unwrap();
    let l = lease(&store, "w", 60_000, T0 + 1).await;
    let out = json!({"done": true});
    let outcome = RunOutcome::Succeeded {
        output: out.clone(),
    };
    store
        .complete(l.task, l.token, out, vec![], Some(outcome), T0 + 2)
        .await
        .unwrap();
    assert_eq!(l.run, ok.run_id);
    // Failed.
    store.submit_run(one(), T0 + 3).await.unwrap();
    let l = lease(&store, "w", 60_000, T0 + 4).await;
    let decision = FailDecision::FailRun {
        reason: "boom".into(),
    };
    store
        .fail(l.task, l.token, "boom", decision, None, T0 + 5)
        .await
        .unwrap();
    // Dead-lettered.
    store.submit_run(one(), T0 + 6).await.unwrap();
    let l = lease(&store, "w", 60_000, T0 + 7).await;
    let decision = FailDecision::DeadLetter {
        reason: "poison".into(),
    };
    store
        .fail(
            l.task,
            l.token,
            "bad input",
            decision,
            Some("policy"),
            T0 + 8,
        )
        .await
        .unwrap();
    // Cancelled.
    let c = store.submit_run(one(), T0 + 9).await.unwrap();
    store.cancel(&c.run_id, None, T0 + 10).await.unwrap();
    // In flight: a DAG with fan-in, a journal, a charge, an artifact, a tool call.
    let dag = store
        .submit_run(
            run(vec![task("left", "p", 0), task("right", "p", 0)]),
            T0 + 11,
        )
        .await
        .unwrap();
    let left = lease(&store, "w", 60_000, T0 + 12).await;
    let right = lease(&store, "w", 60_000, T0 + 12).await;
    let id = dag.run_id.clone();
    store
        .journal_put(&id, "left", 0, json!({"answer": 42}), T0 + 13)
        .await
        .unwrap();
    let charge = Charge {
        day: "2026-11-22".into(),
        pool: "p".into(),
        model: "m".into(),
        input_tokens: 10,
        output_tokens: 20,
        micro_usd: 1_500,
        reservation: None,
    };
    store
        .journal_put_charged(&id, "left", 1, json!("second"), charge, T0 + 14)
        .await
        .unwrap();
    store
        .artifact_put(&id, "report.md", json!("# hi"), T0 + 15)
        .await
        .unwrap();
    let call = ToolCall {
        step: "left".into(),
        index: 0,
        plugin: "echo".into(),
        sha256: "ab".repeat(32),
        error: None,
    };
    store.tool_called(&id, call, T0 + 15).await.unwrap();
    store
        .complete_step(
            left.task,
            left.token,
            json!({"l": 1}),
            join_advance(),
            T0 + 16,
        )
        .await
        .unwrap();
    let retry = FailDecision::Retry { at_ms: T0 + 1_000 };
    store
        .fail(right.task, right.token, "flaky", retry, None, T0 + 17)
        .await
        .unwrap();
    // A run whose task holds a lease when the copy is taken.
    let held = store.submit_run(one(), T0 + 18).await.unwrap();
    let h = lease(&store, "w", 60_000, T0 + 19).await;
    assert_eq!(h.run, held.run_id);
    // A schedule fire, a lock and a swapped component.
    store
        .schedules_register(vec![schedule()], T0)
        .await
        .unwrap();
    let mut fired = run(vec![task("a", "cron", 0)]);
    fired.idempotency_key = Some((format!("cron:demo:{}", T0 + 60_000), T0 + DAY));
    let tick = ScheduleTick {
        id: schedule(),
        fires: vec![ScheduledRun {
            fire_ms: T0 + 60_000,
            run: fired,
        }],
        handled_up_to: T0 + 60_000,
    };
    store.schedule_fire(tick, T0 + 60_001).await.unwrap();
    store
        .lock_acquire("deploy/prod", "ops", DAY, T0 + 20)
        .await
        .unwrap();
    let swap = Swap {
        key: "pool:p".into(),
        stream: "@pool:p".into(),
        old_sha256: "00".repeat(32),
        new: Override {
            sha256: "11".repeat(32),
            config: Some(json!({"share": 2})),
            swapped_ms: T0 + 21,
            name: Some("fair-share".into()),
        },
    };
    store.record_swap(swap, T0 + 21).await.unwrap();
    Source {
        store,
        in_flight: dag.run_id,
        retried_task: right.task,
        leased_run: held.run_id,
        leased_task: h.task,
    }
}
