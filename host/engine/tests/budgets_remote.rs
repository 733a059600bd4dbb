//! Budgets for remote workers: their model calls are made (and charged) by the
//! engine, a call over the budget is refused before the adapter is called, and
//! the refusal decides the attempt whatever error kind the worker reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::future::pending;
use std::sync::Arc;

use serde_json::json;
use weft_core::worker_protocol::{CompleteRequest, FailRequest, LeaseRequest, ModelCallRequest};
use weft_core::{ChatMessage, CompletionRequest, PluginError};
use weft_engine::{EngineOptions, ManualClock, SubmitOptions};
use weft_store_api::RunStatus;

/// 2026-11-22 01:00 UTC.
const NOW: u64 = 1_795_305_600_000 + 3_600_000;

const PROJECT: &str = r#"
id_prefix: test
plugins:
  prompt: { path: plugins/dist/prompt.wasm, kind: step }
  mock-model: { path: plugins/dist/mock-model.wasm, kind: model }
models:
  mock:
    adapter: mock-model
    price: { input_per_million_usd: 0, output_per_million_usd: 10000 }
tenants:
  tiny:
    budget_usd_daily: 0.05
"#;

const ASK: &str = r#"
id: ask
steps:
  ask:
    uses: prompt
    model: mock
    with: { template: "Say hello", max_tokens: 3 }
"#;

fn ask() -> LeaseRequest {
    LeaseRequest {
        worker: "remote".into(),
        owner: "remote/0".into(),
        pools: None,
        lease_ms: 30_000,
        wait_ms: 0,
    }
}

/// A call of at most 3 output tokens: $0.03.
fn call(token: u64) -> ModelCallRequest {
    ModelCallRequest {
        token,
        index: 0,
        request: CompletionRequest {
            model: "mock".into(),
            messages: vec![ChatMessage {
                role: "user".into(),
                content: "Say hello".into(),
            }],
            max_tokens: Some(3),
            temperature: None,
            extra: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_workers_call_over_budget_is_refused_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::project_from(PROJECT);
    let flow = common::flow(&project, ASK);
    let options = EngineOptions {
        workers: 0,
        clock: Arc::new(ManualClock::new(NOW)),
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let tiny = || SubmitOptions {
        tenant: Some("tiny".into()),
        ..SubmitOptions::default()
    };
    let first = engine.submit_with("ask", json!({}), tiny()).await.unwrap();
    let second = engine.submit_with("ask", json!({}), tiny()).await.unwrap();

    let a = engine
        .lease_remote(&ask(), pending())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.run, first.run_id);
    let answer = engine
        .model_call_remote(a.task, &call(a.token))
        .await
        .unwrap();
    let answer = answer.expect("the first call fits the budget");
    assert_eq!(answer.usage.output_tokens, 3);
    let done = CompleteRequest {
        token: a.token,
        output: json!({"text": answer.text}),
        elapsed_ms: 1,
    };
    assert_eq!(
        engine
            .complete_remote(a.task, done)
            .await
            .unwrap()
            .outcome
            .as_str(),
        "succeeded"
    );
    assert_eq!(
        engine.tenant_spent_today("tiny").await.unwrap().micros(),
        30_000
    );

    let b = engine
        .lease_remote(&ask(), pending())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.run, second.run_id);
    let refused = engine
        .model_call_remote(b.task, &call(b.token))
        .await
        .unwrap();
    let Err(PluginError::Permanent(message)) = refused else {
        panic!("not refused: {refused:?}");
    };
    assert!(
        message
            .starts_with("budget exceeded: tenant tiny has spent $0.03 (+$0.00 reserved) of $0.05"),
        "{message}"
    );
    assert_eq!(
        engine.adapter_calls(),
        1,
        "the refused call reached the adapter"
    );
    // The worker's step calls it transient; the budget still decides.
    let fail = FailRequest {
        token: b.token,
        error: PluginError::Transient(message.clone()),
        message: message.clone(),
        elapsed_ms: 1,
    };
    let report = engine.fail_remote(b.task, fail).await.unwrap();
    assert_eq!(report.outcome.as_str(), "run-failed");
    let run = engine
        .store()
        .run_get(&second.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap_or_default().contains("budget exceeded"));
    assert_eq!(
        engine.tenant_spent_today("tiny").await.unwrap().micros(),
        30_000
    );
}
