//! Fan-out/fan-in: two branches that finish at the same time run the join step
//! exactly once, every time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use serde_json::json;
use weft_engine::EngineOptions;
use weft_store_api::RunStatus;

const FLOW: &str = r"
id: diamond
inputs:
  i: { type: integer, required: true }
steps:
  start: { uses: echo }
  left: { uses: echo, needs: [start], with: { wrap: left } }
  right: { uses: echo, needs: [start], with: { wrap: right } }
  join: { uses: echo, needs: [left, right] }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_branches_run_the_join_exactly_once() {
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        workers: 4,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    for i in 0..20 {
        let sub = engine
            .submit("diamond", json!({"i": i}), None)
            .await
            .unwrap();
        let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
        let store = engine.store();
        let joins = store
            .tasks_of(&sub.run_id)
            .await
            .unwrap()
            .iter()
            .filter(|t| t.step_id == "join")
            .count();
        assert_eq!(joins, 1, "run {i}");
        assert_eq!(
            common::count(store.as_ref(), &sub.run_id, "step-succeeded", Some("join")).await,
            1
        );
        // The join's input holds both branches; the run output is the join's.
        let output = run.output.unwrap();
        assert_eq!(output["left"]["left"]["start"], json!({"i": i}));
        assert_eq!(output["right"]["right"]["start"], json!({"i": i}));
        assert!(store.verify(&sub.run_id).await.unwrap().is_ok());
    }
}
