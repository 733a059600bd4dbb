//! A cancel stops the run's step that is running, at once: its worker is free
//! for the next task long before the step's timeout or its lease's next
//! renewal would have freed it, the reason is kept, and the end is reported
//! once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::time::Duration;

use serde_json::json;
use weft_engine::{EngineOptions, ProgressEvent};
use weft_store_api::RunStatus;

const FLOWS: [&str; 2] = [
    r#"
id: spin
steps:
  forever: { uses: work, timeout: 10m }
"#,
    r#"
id: quick
steps:
  a: { uses: echo }
"#,
];

/// Long enough that neither the step's timeout (10 min) nor a lease renewal
/// (every 100 s with a 300 s lease) can be what freed the worker.
const FREED_WITHIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_the_running_step_and_frees_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::project_from(
        "id_prefix: cancel\nplugins:\n  echo: { path: plugins/dist/echo.wasm, kind: step }\n  work: { path: plugins/dist/hostile-loop.wasm, kind: step }\n",
    );
    let flows = FLOWS.iter().map(|f| common::flow(&project, f)).collect();
    let options = EngineOptions {
        workers: 1,
        lease_ms: 300_000,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, flows, options).await;
    let mut events = engine.subscribe();
    let workers = engine.start();
    let spin = engine.submit("spin", json!({}), None).await.unwrap().run_id;
    // The one worker is inside the step that never returns.
    loop {
        match events.recv().await.unwrap() {
            ProgressEvent::StepStarted { run, flow, .. } if run == spin => {
                assert_eq!(flow, "spin");
                break;
            }
            _ => {}
        }
    }
    engine
        .cancel(&spin, Some("no longer wanted"))
        .await
        .unwrap();
    // Only a freed worker can run this one.
    let quick = engine
        .submit("quick", json!({}), None)
        .await
        .unwrap()
        .run_id;
    let mut ends = Vec::new();
    tokio::time::timeout(FREED_WITHIN, async {
        loop {
            if let ProgressEvent::RunFinished { run, status, .. } = events.recv().await.unwrap() {
                ends.push((run.clone(), status));
                if run == quick {
                    return;
                }
            }
        }
    })
    .await
    .expect("the cancelled run's step still holds the only worker");
    assert_eq!(
        ends,
        [
            (spin.clone(), RunStatus::Cancelled),
            (quick.clone(), RunStatus::Succeeded)
        ],
        "one end each"
    );
    let record = engine.store().run_get(&spin).await.unwrap().unwrap();
    assert_eq!(record.error.as_deref(), Some("cancelled: no longer wanted"));
    // A finished run cannot be cancelled again.
    assert!(engine.cancel(&spin, None).await.is_err());
    workers.shutdown().await;
}
