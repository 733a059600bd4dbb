//! A step whose model call fails transiently is retried per exp-backoff, then
//! dead-lettered; the ledger shows every attempt. A step that names no retry
//! policy gets the default `exp-backoff` when weft.yaml declares it, and fails
//! the run with a plain reason when it does not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use serde_json::json;
use weft_engine::{EngineOptions, ProgressEvent, describe_decision};
use weft_store_api::{FailDecision, RunStatus};

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
    assert_eq!(
        common::count(store.as_ref(), run_id, "step-failed", Some("ask")).await,
        3
    );
    assert_eq!(
        common::count(store.as_ref(), run_id, "step-retry-scheduled", Some("ask")).await,
        2
    );
    assert_eq!(
        common::count(store.as_ref(), run_id, "step-dead-lettered", Some("ask")).await,
        1
    );
    let attempts: Vec<u64> = store
        .ledger(run_id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "step-failed")
        .map(|e| e.payload["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    let dlq = store.dlq_list().await.unwrap();
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].run, sub.run_id);
    assert!(
        matches!(failures[0], FailDecision::Retry { .. }),
        "{failures:?}"
    );
    assert!(
        matches!(failures[2], FailDecision::DeadLetter { .. }),
        "{failures:?}"
    );
    // Failed calls are not journaled: each attempt asked the adapter.
    assert_eq!(engine.adapter_calls(), 3);
    assert!(store.verify(run_id).await.unwrap().is_ok());
}

/// The test project without `exp-backoff`: no default retry strategy.
const PROJECT_WITHOUT_BACKOFF: &str = r"
id_prefix: test
plugins:
  prompt: { path: plugins/dist/prompt.wasm, kind: step }
  mock-model: { path: plugins/dist/mock-model.wasm, kind: model }
models:
  flaky: { adapter: mock-model, config: { fail: transient } }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_retry_policy_the_default_exp_backoff_retries() {
    let project = common::project();
    let flow = common::flow(&project, NO_RETRY);
    let policy = flow.step("ask").unwrap().retry.clone().unwrap();
    assert_eq!(policy.strategy, "exp-backoff");
    assert_eq!(
        policy.config,
        json!({}),
        "no overrides: weft.yaml's config applies"
    );
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(dir.path(), project, vec![flow], EngineOptions::default()).await;
    let sub = engine.submit("fragile", json!({}), None).await.unwrap();
    let mut decisions = Vec::new();
    let run = engine
        .run_to_completion(&sub.run_id, |e| {
            if let ProgressEvent::StepFailed {
                decision, time_ms, ..
            } = e
            {
                decisions.push((decision, time_ms));
            }
        })
        .await
        .unwrap();

    // The project's exp-backoff says `max_attempts: 5`: four retries, then the
    // dead-letter queue; the run waits for an operator.
    assert_eq!(run.status, RunStatus::Running, "{:?}", run.error);
    let store = engine.store();
    let run_id = sub.run_id.as_str();
    let count = async |kind: &str| common::count(store.as_ref(), run_id, kind, Some("ask")).await;
    assert_eq!(count("step-failed").await, 5);
    assert_eq!(count("step-retry-scheduled").await, 4);
    assert_eq!(count("step-dead-lettered").await, 1);
    assert_eq!(
        common::count(store.as_ref(), run_id, "run-failed", None).await,
        0
    );
    assert_eq!(decisions.len(), 5, "{decisions:?}");
    // The decisions arrive typed: a retry and when, then the dead letter.
    for (decision, time_ms) in &decisions[..4] {
        let FailDecision::Retry { at_ms } = decision else {
            panic!("expected a retry: {decisions:?}");
        };
        assert!(*at_ms >= *time_ms, "{decisions:?}");
        // In words, a wait and a clock time, not a count of ms since 1970.
        let said = describe_decision(decision, *time_ms);
        assert!(said.starts_with("retry in "), "{said}");
        assert!(
            said.ends_with(" UTC") && !said.contains(&at_ms.to_string()),
            "{said}"
        );
    }
    assert!(
        matches!(&decisions[4].0, FailDecision::DeadLetter { reason }
            if reason.starts_with("gave up after 5 attempts")),
        "{decisions:?}"
    );
    let said = describe_decision(&decisions[4].0, decisions[4].1);
    assert!(
        said.starts_with("dead-letter: gave up after 5 attempts"),
        "{said}"
    );
    let dlq = store.dlq_list().await.unwrap();
    assert_eq!(dlq.len(), 1);
    assert_eq!((dlq[0].run.as_str(), dlq[0].step.as_str()), (run_id, "ask"));
    assert_eq!(engine.adapter_calls(), 5);
    assert!(store.verify(run_id).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_exp_backoff_in_the_project_a_failure_fails_the_run_and_says_why() {
    let project = common::project_from(PROJECT_WITHOUT_BACKOFF);
    // Validation accepts it: having no retry strategy is allowed.
    let flow = common::flow(&project, NO_RETRY);
    assert_eq!(flow.step("ask").unwrap().retry, None);
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(
        dir.path(),
        project.clone(),
        vec![flow.clone()],
        EngineOptions::default(),
    )
    .await;
    let problems = weft_engine::Engine::check_plugins(engine.runtime(), &project, &[flow]).await;
    assert!(problems.is_empty(), "{problems}");

    let sub = engine.submit("fragile", json!({}), None).await.unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.unwrap();
    assert!(
        error.starts_with(
            "step `ask` failed and has no retry strategy: \
             the default `exp-backoff` is not a plugin in weft.yaml"
        ),
        "{error}"
    );
    assert!(error.contains("configured to fail (transient)"), "{error}");
    let store = engine.store();
    let run_id = sub.run_id.as_str();
    assert_eq!(
        common::count(store.as_ref(), run_id, "step-failed", Some("ask")).await,
        1
    );
    assert_eq!(
        common::count(store.as_ref(), run_id, "step-retry-scheduled", None).await,
        0
    );
    assert_eq!(
        common::count(store.as_ref(), run_id, "run-failed", None).await,
        1
    );
    assert_eq!(engine.adapter_calls(), 1);
    assert!(store.dlq_list().await.unwrap().is_empty());
    assert!(store.verify(run_id).await.unwrap().is_ok());
}
