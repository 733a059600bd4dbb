//! Journaled model calls: a step whose first execution called the model but
//! could not record its result (its lease had expired and was reaped) runs
//! again and gets the journaled answer; the adapter is not called twice.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::sync::Arc;
use weft_store_api::WorkerSite;

use serde_json::json;
use weft_engine::{EngineOptions, ManualClock, TaskOutcome};
use weft_store_api::RunStatus;

const T0: u64 = 1_795_305_600_000;

const FLOW: &str = r#"
id: ask
inputs:
  name: { type: string, required: true }
steps:
  ask:
    uses: prompt
    model: mock
    with: { template: "Say hello to {{name}}" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_run_again_gets_the_journaled_answer() {
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let options = EngineOptions {
        workers: 1,
        lease_ms: 60_000,
        clock: clock.clone(),
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let store = engine.store().clone();
    let sub = engine
        .submit("ask", json!({"name": "ada"}), None)
        .await
        .unwrap();

    // A worker leases the task for 1 s; time passes beyond it and the lease is
    // reaped before the worker reports: its result will not count.
    let first = store
        .lease("doomed", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    clock.advance(1_001);
    assert_eq!(
        store
            .expire_leases(weft_engine::Clock::now_ms(clock.as_ref()))
            .await
            .unwrap(),
        1
    );
    let outcome = engine.run_task(first).await;
    assert_eq!(outcome, TaskOutcome::LeaseLost);
    assert_eq!(engine.adapter_calls(), 1);
    let journaled = store
        .journal_get(&sub.run_id, "ask", 0)
        .await
        .unwrap()
        .unwrap();

    // The task runs again under a new lease: the model answer comes from the
    // journal.
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(engine.adapter_calls(), 1, "the adapter was called again");
    assert_eq!(run.output.unwrap()["text"], journaled["text"]);
    let id = sub.run_id.as_str();
    assert_eq!(
        common::count(&*store, id, "model-call-journaled", None).await,
        1
    );
    assert_eq!(
        common::count(&*store, id, "stale-token-refused", None).await,
        1
    );
    assert_eq!(
        common::count(&*store, id, "step-succeeded", Some("ask")).await,
        1
    );
    assert!(store.verify(id).await.unwrap().is_ok());
}
