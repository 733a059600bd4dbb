//! Pools, budgets and tenants seen from a provider: the real `openai-compat`
//! adapter calls a fake provider on loopback, which counts the requests it is
//! answering at once. A pool of `max_concurrent: 3` never has more than 3 in
//! flight; a pool's `cost_limit_daily_usd` in weft.yaml refuses the call that
//! could overspend it (and `pools_status` shows what it spent); a tenant whose
//! `hosts` capability leaves out the provider never reaches it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weft_core::Money;
use weft_engine::{Engine, EngineOptions, ManualClock, ProgressEvent, SubmitOptions};
use weft_fake_provider::{FakeProvider, Reply};
use weft_store_api::RunStatus;

/// 2026-11-22 01:00 UTC.
const T0: u64 = 1_795_309_200_000;

/// The model's steps name no pool: the model's `pool: llm` puts them there.
const FLOW: &str = r#"
id: ask
inputs:
  q: { type: string, required: true }
steps:
  ask:
    uses: prompt
    model: gpt
    with: { template: "Answer: {{q}}", max_tokens: 3 }
"#;

/// Model `gpt` (openai-compat at `fake`, in pool `llm`; output tokens cost
/// $10 000 per million, so a 3-token call costs $0.03) and `pool_keys` for
/// pool `llm`.
fn project(fake: &FakeProvider, pool_keys: &str) -> String {
    format!(
        r#"
id_prefix: test
plugins:
  prompt: {{ path: plugins/dist/prompt.wasm, kind: step }}
  openai-compat: {{ path: plugins/dist/openai-compat.wasm, kind: model }}
models:
  gpt:
    adapter: openai-compat
    config: {{ endpoint: "{}", model: gpt-test }}
    allowed_hosts: ["{}"]
    pool: llm
    price: {{ input_per_million_usd: 0, output_per_million_usd: 10000 }}
pools:
  llm: {{ {pool_keys} }}
tenants:
  walled:
    capabilities:
      hosts: ["api.example.com"]
"#,
        fake.base_url(),
        fake.host_port()
    )
}

async fn open(dir: &std::path::Path, source: &str, workers: usize) -> Engine {
    let project = common::project_from(source);
    let flow = common::flow(&project, FLOW);
    let options = EngineOptions {
        workers,
        lease_ms: 60_000,
        clock: Arc::new(ManualClock::new(T0)),
        ..EngineOptions::default()
    };
    common::engine(dir, project, vec![flow], options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_runs_in_a_pool_of_three_never_reach_the_provider_more_than_three_at_once() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), &project(&fake, "max_concurrent: 3"), 8).await;

    // Hold the provider's answers: 8 workers would call it 8 times at once
    // if the pool let them; it lets exactly 3 through.
    fake.hold();
    let mut events = engine.subscribe();
    for i in 0..20 {
        engine
            .submit("ask", json!({ "q": format!("question {i}") }), None)
            .await
            .unwrap();
    }
    let workers = engine.start();
    fake.wait_in_flight(3).await;
    let status = engine.pools_status().await.unwrap();
    let llm = status.iter().find(|p| p.name == "llm").unwrap();
    assert_eq!(llm.active, 3, "{llm:?}");
    assert_eq!(llm.queued, 17, "{llm:?}");
    fake.release();

    let mut finished = 0;
    while finished < 20 {
        let event = tokio::time::timeout(Duration::from_secs(120), events.recv())
            .await
            .expect("the runs finish within two minutes")
            .unwrap();
        if let ProgressEvent::RunFinished { run, status, .. } = event {
            assert_eq!(status, RunStatus::Succeeded, "{run}");
            finished += 1;
        }
    }
    workers.shutdown().await;
    assert_eq!(fake.request_count(), 20);
    assert_eq!(
        fake.max_in_flight(),
        3,
        "the pool let more than 3 run at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pools_daily_cost_limit_in_weft_yaml_refuses_the_call_that_could_overspend_it() {
    let fake = FakeProvider::start().await.unwrap();
    for _ in 0..3 {
        fake.push(Reply::text("ok", 0, 3));
    }
    let dir = tempfile::tempdir().unwrap();
    let source = project(&fake, "max_concurrent: 2, cost_limit_daily_usd: 0.05");
    let engine = open(dir.path(), &source, 1).await;

    let first = engine.submit("ask", json!({"q": "a"}), None).await.unwrap();
    let run = engine
        .run_to_completion(&first.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let llm = engine
        .pools_status()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "llm")
        .unwrap();
    assert!(
        llm.cost_today_usd == Money::from_micros(30_000),
        "cost today {}",
        llm.cost_today_usd
    );
    assert_eq!(llm.cost_limit_daily_usd, Some(Money::from_micros(50_000)));

    // $0.03 spent of $0.05: a second $0.03 call could overspend, so it is
    // refused before it reaches the provider.
    let second = engine.submit("ask", json!({"q": "b"}), None).await.unwrap();
    let run = engine
        .run_to_completion(&second.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.unwrap_or_default();
    assert!(error.contains("budget exceeded: pool llm"), "{error}");
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        engine.pool_spent_today("llm").await.unwrap().micros(),
        30_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_whose_hosts_leave_out_the_provider_never_reaches_it() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), &project(&fake, "max_concurrent: 2"), 1).await;
    let options = SubmitOptions {
        tenant: Some("walled".into()),
        ..SubmitOptions::default()
    };
    let sub = engine
        .submit_with("ask", json!({"q": "a"}), options)
        .await
        .unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.unwrap_or_default();
    assert!(error.contains(&fake.host_port()), "{error}");
    assert_eq!(
        fake.request_count(),
        0,
        "the walled tenant reached the provider"
    );

    // The default tenant (no capabilities) reaches it with the same model.
    fake.push(Reply::text("ok", 1, 1));
    let sub = engine.submit("ask", json!({"q": "b"}), None).await.unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(fake.request_count(), 1);
}
