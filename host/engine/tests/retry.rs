//! A step whose model call fails transiently is retried per exp-backoff, then
//! dead-lettered; the ledger shows every attempt.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use serde_json::json;
use weft_engine::{EngineOptions, ProgressEvent};
use weft_store::RunStatus;

const FLOW: &str = r#"
id: flaky
steps:
  ask:
    uses: prompt
    model: flaky
    retry: { strategy: exp-backoff, max_attempts: 3 }
    with: { template: "Say hello" }
"#;

const NO_RETRY: &str = r#"
id: fragile
steps:
  ask:
    uses: prompt
    model: flaky
    with: { template: "Say hello" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_then_dead_lettered() {
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(dir.path(), project, vec![flow], EngineOptions::default()).await;
    let sub = engine.submit("flaky", json!({}), None).await.unwrap();
    let mut failures = Vec::new();
    let run = engine
        .run_to_completion(&sub.run_id, |e| {
            if let ProgressEvent::StepFailed { decision, .. } = e {
                failures.push(decision);
            }
        })
        .await
        .unwrap();

    // Dead-lettered: the run waits for an operator, with nothing left to run.
    assert_eq!(run.status, RunStatus::Running);
    let store = engine.store();
    let run_id = sub.run_id.as_str();
    assert_eq!(common::count(store, run_id, "step-failed", Some("ask")), 3);
    assert_eq!(
        common::count(store, run_id, "step-retry-scheduled", Some("ask")),
        2
    );
    assert_eq!(
        common::count(store, run_id, "step-dead-lettered", Some("ask")),
        1
    );
    let attempts: Vec<u64> = store
        .ledger(run_id)
        .unwrap()
        .iter()
        .filter(|e| e.kind == "step-failed")
        .map(|e| e.payload["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    let dlq = store.dlq_list().unwrap();
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].run, sub.run_id);
    assert!(failures[0].starts_with("retry at"), "{failures:?}");
    assert!(failures[2].starts_with("dead-letter"), "{failures:?}");
    // Failed calls are not journaled: each attempt asked the adapter.
    assert_eq!(engine.adapter_calls(), 3);
    assert!(store.verify(run_id).unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_retry_policy_a_failure_fails_the_run() {
    let project = common::project();
    let flow = common::flow(&project, NO_RETRY);
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(dir.path(), project, vec![flow], EngineOptions::default()).await;
    let sub = engine.submit("fragile", json!({}), None).await.unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap().contains("configured to fail"));
}
