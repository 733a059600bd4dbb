//! Step conditions (`if:`) through the engine: a step whose condition is
//! false is skipped (`step-skipped`) and never reaches a worker, its
//! dependents are skipped unless they say `always()`, and a failure lets the
//! steps that ask for `failure()` run before the run ends failed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use serde_json::json;
use weft_engine::EngineOptions;
use weft_store_api::{RunStatus, TaskState};

const TRIAGE: &str = r#"
id: triage
inputs:
  urgent: { type: boolean, required: true }
steps:
  classify: { uses: echo }
  page: { uses: echo, needs: [classify], if: "${{ input.urgent }}", with: { wrap: paged } }
  notify: { uses: echo, needs: [page] }
  report: { uses: echo, needs: [notify], if: "${{ always() }}", with: { wrap: report } }
"#;

// `work` fails for good (a bad config: exp-backoff does not retry it, and
// would dead-letter it, were there no failure step after it).
const CLEANUP: &str = r#"
id: cleanup
steps:
  work: { uses: echo, with: { wrap: 5 } }
  next: { uses: echo, needs: [work] }
  tidy: { uses: echo, needs: [next], if: "${{ failure() }}", with: { wrap: tidied } }
  celebrate: { uses: echo, needs: [next], if: "success()" }
"#;

async fn states(engine: &weft_engine::Engine, run: &str) -> Vec<(String, TaskState)> {
    let mut states: Vec<_> = engine
        .store()
        .tasks_of(run)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.step_id, t.state))
        .collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    states
}

fn owned(pairs: &[(&str, TaskState)]) -> Vec<(String, TaskState)> {
    let mut v: Vec<_> = pairs.iter().map(|(s, t)| ((*s).to_owned(), *t)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_condition_skips_the_step_and_its_dependents_but_not_always() {
    let project = common::project();
    let flow = common::flow(&project, TRIAGE);
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(dir.path(), project, vec![flow], EngineOptions::default()).await;

    let urgent = engine
        .submit("triage", json!({"urgent": true}), None)
        .await
        .unwrap();
    let run = engine
        .run_to_completion(&urgent.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        common::count(
            engine.store().as_ref(),
            &urgent.run_id,
            "step-skipped",
            None
        )
        .await,
        0
    );
    // Each echo wraps what it was given: its needs' outputs by step id.
    let output = run.output.unwrap();
    assert_eq!(
        output["report"]["notify"]["page"]["paged"]["classify"]["urgent"],
        json!(true)
    );

    let calm = engine
        .submit("triage", json!({"urgent": false}), None)
        .await
        .unwrap();
    let mut started = Vec::new();
    let run = engine
        .run_to_completion(&calm.run_id, |event| {
            if let weft_engine::ProgressEvent::StepStarted { step, .. } = event {
                started.push(step.clone());
            }
        })
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    // `report` ran after its need was skipped, whose output is null.
    assert_eq!(run.output, Some(json!({"report": {"notify": null}})));
    assert_eq!(
        states(&engine, &calm.run_id).await,
        owned(&[
            ("classify", TaskState::Done),
            ("page", TaskState::Skipped),
            ("notify", TaskState::Skipped),
            ("report", TaskState::Done),
        ])
    );
    let ledger = engine.store().ledger(&calm.run_id).await.unwrap();
    let skipped: Vec<_> = ledger
        .iter()
        .filter(|e| e.kind == "step-skipped")
        .map(|e| {
            (
                e.payload["step"].as_str().unwrap(),
                e.payload["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "page");
    assert!(skipped[0].1.contains("input.urgent"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, "notify");
    assert!(skipped[1].1.contains("page"), "{}", skipped[1].1);
    // A skipped step never started: no worker ran it.
    assert_eq!(started, ["classify", "report"]);
    assert!(engine.store().verify(&calm.run_id).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_runs_the_failure_steps_then_fails_the_run() {
    let project = common::project();
    let flow = common::flow(&project, CLEANUP);
    assert!(flow.has_failure_followers("work"));
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(dir.path(), project, vec![flow], EngineOptions::default()).await;

    let sub = engine.submit("cleanup", json!({}), None).await.unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    let kinds: Vec<_> = engine
        .store()
        .ledger(&sub.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.kind, e.payload))
        .collect();
    assert_eq!(run.status, RunStatus::Failed, "{kinds:#?}");
    let error = run.error.unwrap();
    assert!(
        error.contains("wrap"),
        "the first failure's reason: {error}"
    );
    assert_eq!(
        states(&engine, &sub.run_id).await,
        owned(&[
            ("work", TaskState::Failed),
            ("next", TaskState::Skipped),
            ("tidy", TaskState::Done),
            ("celebrate", TaskState::Skipped),
        ])
    );
    let outputs = engine.store().step_outputs(&sub.run_id).await.unwrap();
    assert_eq!(outputs["tidy"], json!({"tidied": {"next": null}}));
    let ledger = engine.store().ledger(&sub.run_id).await.unwrap();
    let failed = ledger.iter().find(|e| e.kind == "step-failed").unwrap();
    assert_eq!(failed.payload["decision"]["decision"], "fail-step");
    assert_eq!(ledger.last().unwrap().kind, "run-failed");
    assert!(engine.store().verify(&sub.run_id).await.unwrap().is_ok());
}

const REMOTE: &str = r#"
id: remote-triage
inputs:
  urgent: { type: boolean, required: true }
steps:
  classify: { uses: echo }
  page: { uses: echo, needs: [classify], if: "input.urgent" }
  tidy: { uses: echo, needs: [page], if: "${{ failure() || always() }}" }
"#;

/// A remote worker is never handed a skipped step: it gets the next one. Its
/// failed report of a step with a failure step after it reads `step-failed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_workers_get_no_skipped_step_and_failures_go_to_the_failure_steps() {
    use std::future::pending;
    use weft_core::PluginError;
    use weft_core::worker_protocol::{CompleteRequest, FailRequest, LeaseRequest};

    let project = common::project();
    let flow = common::flow(&project, REMOTE);
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        workers: 0,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let ask = LeaseRequest {
        worker: "test".into(),
        owner: "test/0".into(),
        pools: None,
        lease_ms: 30_000,
        wait_ms: 0,
    };
    let lease = || async { engine.lease_remote(&ask, pending()).await.unwrap().unwrap() };

    let calm = engine
        .submit("remote-triage", json!({"urgent": false}), None)
        .await
        .unwrap()
        .run_id;
    let first = lease().await;
    assert_eq!(first.step, "classify");
    let done = CompleteRequest {
        token: first.token,
        output: json!({"kind": "question"}),
        elapsed_ms: 1,
    };
    engine.complete_remote(first.task, done).await.unwrap();
    // `page` is skipped inside this lease call; the worker gets `tidy`.
    let next = lease().await;
    assert_eq!(next.step, "tidy");
    let states = states(&engine, &calm).await;
    assert!(
        states.contains(&("page".to_owned(), TaskState::Skipped)),
        "{states:?}"
    );

    let failed = FailRequest {
        token: next.token,
        error: PluginError::Permanent("the disk is full".into()),
        message: "the disk is full".into(),
        elapsed_ms: 1,
    };
    let answer = engine.fail_remote(next.task, failed).await.unwrap();
    // Nothing follows `tidy`: its failure waits in the dead-letter queue,
    // as any step's does under exp-backoff.
    assert_eq!(answer.outcome.as_str(), "dead-letter");
    assert!(!answer.run_finished);

    let urgent = engine
        .submit("remote-triage", json!({"urgent": true}), None)
        .await
        .unwrap()
        .run_id;
    let classify = lease().await;
    let done = CompleteRequest {
        token: classify.token,
        output: json!({}),
        elapsed_ms: 1,
    };
    engine.complete_remote(classify.task, done).await.unwrap();
    let page = lease().await;
    assert_eq!(
        (page.run.as_str(), page.step.as_str()),
        (urgent.as_str(), "page")
    );
    let failed = FailRequest {
        token: page.token,
        error: PluginError::Permanent("pager down".into()),
        message: "pager down".into(),
        elapsed_ms: 1,
    };
    let answer = engine.fail_remote(page.task, failed).await.unwrap();
    assert_eq!(answer.outcome.as_str(), "step-failed");
    assert!(!answer.run_finished);
    let tidy = lease().await;
    assert_eq!(
        (tidy.run.as_str(), tidy.step.as_str()),
        (urgent.as_str(), "tidy")
    );
    let done = CompleteRequest {
        token: tidy.token,
        output: json!("tidied"),
        elapsed_ms: 1,
    };
    let answer = engine.complete_remote(tidy.task, done).await.unwrap();
    assert!(answer.run_finished);
    let run = engine.store().run_get(&urgent).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap().contains("pager down"));
}
