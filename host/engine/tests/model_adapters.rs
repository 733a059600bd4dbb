//! A flow's `prompt` step on a model served by the real `openai-compat`
//! adapter, at a fake provider on loopback: the call succeeds under the model's
//! allowed hosts, a missing key variable is named, and the model's circuit
//! breaker opens after N transient failures, fails fast without reaching the
//! provider, and half-opens once the engine's (manual) clock passes the
//! cool-down; a 429's `retry-after` is the floor of the step's next retry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::sync::Arc;
use weft_store_api::WorkerSite;

use serde_json::json;
use weft_engine::{CircuitState, Engine, EngineOptions, ManualClock, ModelOutcome};
use weft_engine::{TaskOutcome, model_http_policy};
use weft_fake_provider::{FakeProvider, Reply};
use weft_store_api::{FailDecision, RunRecord, RunStatus};

const T0: u64 = 1_795_305_600_000;

const FLOW: &str = r#"
id: ask
inputs:
  q: { type: string, required: true }
steps:
  ask:
    uses: prompt
    model: gpt
    with: { template: "Answer: {{q}}" }
"#;

/// A project whose model `gpt` is served by openai-compat at `fake`, with
/// `extra` model keys; no retry strategy, so a failed attempt fails the run.
fn project(fake: &FakeProvider, extra: &str) -> String {
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
{extra}
"#,
        fake.base_url(),
        fake.host_port()
    )
}

async fn open(dir: &std::path::Path, source: &str, clock: Arc<ManualClock>) -> Engine {
    let project = common::project_from(source);
    let flow = common::flow(&project, FLOW);
    let options = EngineOptions {
        workers: 1,
        clock,
        ..EngineOptions::default()
    };
    common::engine(dir, project, vec![flow], options).await
}

async fn ask(engine: &Engine, q: &str) -> RunRecord {
    let sub = engine.submit("ask", json!({ "q": q }), None).await.unwrap();
    engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap()
}

fn count(engine: &Engine, outcome: ModelOutcome) -> u64 {
    engine
        .model_requests()
        .iter()
        .find(|(m, o, _)| m == "gpt" && *o == outcome)
        .map_or(0, |(_, _, n)| *n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_step_gets_its_answer_from_the_provider() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::text("forty-two", 4, 1));
    let dir = tempfile::tempdir().unwrap();
    let engine = open(
        dir.path(),
        &project(&fake, ""),
        Arc::new(ManualClock::new(T0)),
    )
    .await;
    let run = ask(&engine, "what is six times seven").await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(run.output.unwrap()["text"], "forty-two");
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["model"], "gpt-test");
    assert_eq!(
        sent[0].json()["messages"][0]["content"],
        "Answer: what is six times seven"
    );
    assert_eq!(count(&engine, ModelOutcome::Ok), 1);
    assert_eq!(engine.circuits()[0].state, CircuitState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unset_key_variable_is_named_and_nothing_is_sent() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = project(&fake, "    api_key_env: WEFT_TEST_NEVER_SET_4F2A");
    let engine = open(dir.path(), &source, Arc::new(ManualClock::new(T0))).await;
    let run = ask(&engine, "hi").await;
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.unwrap();
    assert!(
        error
            .contains("environment variable WEFT_TEST_NEVER_SET_4F2A (its api_key_env) is not set"),
        "{error}"
    );
    assert_eq!(fake.request_count(), 0);
    assert_eq!(count(&engine, ModelOutcome::NoKey), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_after_n_transient_failures_and_half_opens_after_the_cool_down() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::ServerError);
    fake.push(Reply::ServerError);
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let source = project(&fake, "    circuit: { failures: 2, cool_down: 30s }");
    let engine = open(dir.path(), &source, clock.clone()).await;

    for _ in 0..2 {
        let run = ask(&engine, "hi").await;
        assert_eq!(run.status, RunStatus::Failed);
        assert!(run.error.unwrap().contains("answered 500"));
    }
    let circuit = &engine.circuits()[0];
    assert_eq!(circuit.state, CircuitState::Open);
    assert_eq!(circuit.consecutive_failures, 2);
    assert_eq!(circuit.half_open_at_ms, Some(T0 + 30_000));

    // The third call fails fast: it never reaches the provider.
    let run = ask(&engine, "hi").await;
    let error = run.error.unwrap();
    assert!(
        error.contains("model `gpt`: circuit open after 2 consecutive transient failures"),
        "{error}"
    );
    assert!(error.contains("half-opens in 30 s"), "{error}");
    assert_eq!(fake.request_count(), 2);

    // Past the cool-down one trial call goes through; it succeeds and closes it.
    clock.advance(29_999);
    assert_eq!(engine.circuits()[0].state, CircuitState::Open);
    clock.advance(1);
    assert_eq!(engine.circuits()[0].state, CircuitState::HalfOpen);
    let run = ask(&engine, "hi again").await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(fake.request_count(), 3);
    assert_eq!(engine.circuits()[0].state, CircuitState::Closed);

    assert_eq!(count(&engine, ModelOutcome::Transient), 2);
    assert_eq!(count(&engine, ModelOutcome::CircuitOpen), 1);
    assert_eq!(count(&engine, ModelOutcome::Ok), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429s_retry_after_is_the_floor_of_the_next_retry() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::RateLimited {
        retry_after_secs: 90,
    });
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let source = project(&fake, "").replace(
        "plugins:\n",
        "plugins:\n  exp-backoff: { path: plugins/dist/exp-backoff.wasm, kind: retry }\n",
    );
    let project = common::project_from(&source);
    // Declared, exp-backoff is every step's default retry strategy.
    let flow = common::flow(&project, FLOW);
    let options = EngineOptions {
        workers: 1,
        clock,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    engine
        .submit("ask", json!({ "q": "hi" }), None)
        .await
        .unwrap();
    let lease = engine
        .store()
        .lease("test", None, 60_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let outcome = engine.run_task(lease).await;
    // exp-backoff alone says about T0 + 200 ms; the provider said 90 s.
    assert_eq!(
        outcome,
        TaskOutcome::Failed {
            decision: FailDecision::Retry { at_ms: T0 + 90_000 }
        }
    );
    assert_eq!(count(&engine, ModelOutcome::Transient), 1);
}

#[tokio::test]
async fn a_tenants_hosts_narrow_the_models_to_the_rules_within_them() {
    let fake = FakeProvider::start().await.unwrap();
    let source = project(&fake, "").replace(
        &format!("allowed_hosts: [\"{}\"]", fake.host_port()),
        &format!(
            "allowed_hosts: [api.openai.com, \"*.eu.openai.com\", \"{}\"]",
            fake.host_port()
        ),
    );
    let project = common::project_from(&source);
    let model = &project.models["gpt"];
    let shown = |tenant: Option<&[String]>| -> Vec<String> {
        let policy = model_http_policy(model, tenant).unwrap();
        policy.rules().iter().map(ToString::to_string).collect()
    };
    assert_eq!(shown(None).len(), 3);
    let tenant = ["*.openai.com".to_owned(), "not a rule//".to_owned()];
    assert_eq!(shown(Some(&tenant)), ["api.openai.com", "*.eu.openai.com"]);
    let tenant = [fake.host_port()];
    assert_eq!(shown(Some(&tenant)), [fake.host_port()]);
    assert!(
        shown(Some(&[])).is_empty(),
        "a tenant with no hosts reaches none"
    );
}
