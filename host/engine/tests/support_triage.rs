//! The example project (weft.yaml, flows/support-triage.yaml) runs end to end on
//! the real plugins: agent step with a model call, transform, Python and JSON
//! steps in parallel, a join; the ledger verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use serde_json::json;
use weft_engine::{Engine, ProgressEvent};
use weft_flow::{ProjectConfig, load_flow};
use weft_store_api::RunStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_triage_runs_to_success_with_a_verified_ledger() {
    let root = weft_tests::repo_root();
    let project = ProjectConfig::load(&root.join("weft.yaml")).unwrap();
    let flow = load_flow(&root.join("flows/support-triage.yaml"), &project).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(project, vec![flow], dir.path()).await.unwrap();

    let input = json!({"ticket": {"id": 42, "customer": "ada", "body": "The invoice page shows a blank screen after login."}});
    let sub = engine.submit("support-triage", input, None).await.unwrap();
    let mut events = Vec::new();
    let run = engine
        .run_to_completion(&sub.run_id, |e| events.push(e))
        .await
        .unwrap();

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let output = run.output.unwrap();
    assert_eq!(output["team"], "support");
    assert_eq!(output["audit"]["ticket_id"], 42);
    assert!(output["words"].as_u64().unwrap() > 3, "{output}");
    assert!(
        output["summary"]
            .as_str()
            .unwrap()
            .starts_with("mock answer to: Summarise this ticket for the support team")
    );
    let report = engine.store().verify(&sub.run_id).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    for step in ["summarise", "extract", "stats", "audit", "report"] {
        let n = common::count(
            engine.store().as_ref(),
            &sub.run_id,
            "step-succeeded",
            Some(step),
        )
        .await;
        assert_eq!(n, 1, "step {step}");
    }
    assert_eq!(engine.adapter_calls(), 1);
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::RunFinished {
            status: RunStatus::Succeeded,
            ..
        })
    ));
}
