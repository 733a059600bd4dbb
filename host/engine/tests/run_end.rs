//! Every way a run ends — its last step done, a failure that fails it, a
//! cancel, the purge of its dead letter — is reported the same way: one
//! `RunFinished` event, seen by observers (metrics) before subscribers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::future::pending;
use std::sync::{Arc, Mutex};

use serde_json::json;
use weft_core::PluginError;
use weft_core::worker_protocol::{CompleteRequest, FailRequest, LeaseRequest};
use weft_engine::{EngineError, EngineOptions, ProgressEvent};
use weft_store_api::{RunStatus, StoreError};

const FLOW: &str = r#"
id: one
steps:
  a: { uses: echo, retry: { strategy: exp-backoff, max_attempts: 1 } }
"#;

fn ask() -> LeaseRequest {
    LeaseRequest {
        worker: "w".into(),
        owner: "w/0".into(),
        pools: None,
        lease_ms: 30_000,
        wait_ms: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_end_of_a_run_is_one_run_finished_event() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let options = EngineOptions {
        workers: 0,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let seen: Arc<Mutex<Vec<(String, RunStatus)>>> = Arc::default();
    {
        let seen = Arc::clone(&seen);
        engine.observe(Arc::new(move |e| {
            if let ProgressEvent::RunFinished { run, status, .. } = e {
                seen.lock().unwrap().push((run.clone(), *status));
            }
        }));
    }
    let submit = || async { engine.submit("one", json!({}), None).await.unwrap().run_id };

    // Completed.
    let done = submit().await;
    let t = engine
        .lease_remote(&ask(), pending())
        .await
        .unwrap()
        .unwrap();
    let report = CompleteRequest {
        token: t.token,
        output: json!(1),
        elapsed_ms: 1,
    };
    engine.complete_remote(t.task, report).await.unwrap();

    // Cancelled (queued, then cancelled through the engine).
    let cancelled = submit().await;
    engine.cancel(&cancelled, None).await.unwrap();
    let again = engine.cancel(&cancelled, None).await;
    assert!(
        matches!(
            again,
            Err(EngineError::Store(StoreError::RunFinished { .. }))
        ),
        "{again:?}"
    );

    // Dead-lettered, then purged: the run fails.
    let purged = submit().await;
    let t = engine
        .lease_remote(&ask(), pending())
        .await
        .unwrap()
        .unwrap();
    let report = FailRequest {
        token: t.token,
        error: PluginError::Permanent("broken".into()),
        message: "broken".into(),
        elapsed_ms: 1,
    };
    assert_eq!(
        engine
            .fail_remote(t.task, report)
            .await
            .unwrap()
            .outcome
            .as_str(),
        "dead-letter"
    );
    assert_eq!(
        engine
            .store()
            .run_get(&purged)
            .await
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Running
    );
    let answer = engine.dlq_purge(t.task).await.unwrap();
    assert_eq!(answer.run_ended, Some(RunStatus::Failed));
    let run = engine.store().run_get(&purged).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap().contains("purged"));

    assert_eq!(
        *seen.lock().unwrap(),
        [
            (done, RunStatus::Succeeded),
            (cancelled, RunStatus::Cancelled),
            (purged, RunStatus::Failed),
        ]
    );
}
