//! Run priorities: with runs of priority 0 and 10 waiting in one pool, one
//! worker runs the priority-10 run first, its second step included (the store
//! gives a run's later steps the run's priority when it enqueues them).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::time::Duration;

use serde_json::json;
use weft_engine::{EngineOptions, ProgressEvent, SubmitOptions};
use weft_store_api::RunStatus;

const FLOW: &str = r"
id: two-steps
inputs:
  i: { type: integer, required: true }
steps:
  first: { uses: echo }
  second: { uses: echo, needs: [first] }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_priority_run_is_leased_first_and_so_is_its_second_step() {
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        workers: 1,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let submit = |i: i64, priority: u32| {
        let engine = engine.clone();
        async move {
            let options = SubmitOptions {
                priority,
                ..SubmitOptions::default()
            };
            let sub = engine
                .submit_with("two-steps", json!({ "i": i }), options)
                .await
                .unwrap();
            sub.run_id
        }
    };
    // Three ordinary runs wait before the urgent one is even submitted.
    let mut low = Vec::new();
    for i in 0..3 {
        low.push(submit(i, 0).await);
    }
    let high = submit(99, 10).await;
    assert_eq!(
        engine
            .store()
            .run_get(&high)
            .await
            .unwrap()
            .unwrap()
            .priority,
        10
    );

    let mut events = engine.subscribe();
    let workers = engine.start();
    let mut started = Vec::new();
    let mut finished = Vec::new();
    while finished.len() < 4 {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("the runs finish within a minute")
            .unwrap();
        match event {
            ProgressEvent::StepStarted { run, step, .. } => started.push((run, step)),
            ProgressEvent::RunFinished { run, status, .. } => {
                assert_eq!(status, RunStatus::Succeeded, "{run}");
                finished.push(run);
            }
            _ => {}
        }
    }
    workers.shutdown().await;

    let first_two: Vec<(&str, &str)> = started[..2]
        .iter()
        .map(|(r, s)| (r.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        first_two,
        [(high.as_str(), "first"), (high.as_str(), "second")],
        "the priority-10 run goes first, both its steps: {started:?}"
    );
    assert_eq!(finished[0], high, "{finished:?}");
    assert_eq!(started.len(), 8, "{started:?}");
    // Every task keeps its run's priority, the second step's too.
    for (run, priority) in low.iter().map(|r| (r, 0)).chain([(&high, 10)]) {
        let tasks = engine.store().tasks_of(run).await.unwrap();
        assert_eq!(tasks.len(), 2, "{tasks:?}");
        assert!(tasks.iter().all(|t| t.priority == priority), "{tasks:?}");
    }
}
