//! The `agent` step plugin on the real engine: the mock model asks for tools
//! (other step plugins, run through the `call-tool` host import), the agent
//! runs them and answers; model calls are journaled, tool calls are in the
//! ledger with their component's SHA-256, and a re-run replays the journal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::sync::Arc;
use weft_store_api::WorkerSite;

use serde_json::{Value, json};
use weft_core::PluginKind;
use weft_engine::{Engine, EngineOptions, ManualClock, TaskOutcome};
use weft_store_api::{LedgerEvent, RunRecord, RunStatus};

const T0: u64 = 1_795_305_600_000;

/// The common project, plus the agent and models that play an agent's model.
fn project() -> weft_flow::ProjectConfig {
    let source = common::PROJECT
        .replace(
            "plugins:\n",
            "plugins:\n  agent: { path: plugins/dist/agent.wasm, kind: step }\n",
        )
        .replace(
            "models:\n",
            "models:\n  \
             twice: { adapter: mock-model, config: { tool_calls: 2 } }\n  \
             forever: { adapter: mock-model, config: { tool_calls: 99 } }\n  \
             wrong-name: { adapter: mock-model, config: { call_tool: nope } }\n",
        );
    common::project_from(&source)
}

/// A flow of one agent step on `model` with one tool running `uses` with
/// `with` (YAML flow text), and `max_turns`.
fn agent_flow(model: &str, uses: &str, with: &str, max_turns: u32) -> String {
    format!(
        r#"
id: ask
inputs:
  prompt: {{ type: string, required: true }}
steps:
  ask:
    uses: agent
    model: {model}
    with:
      max_turns: {max_turns}
      tools:
        - name: stamp
          uses: {uses}
          description: Stamps the text.
          with: {with}
"#
    )
}

async fn engine_for(dir: &std::path::Path, flow: &str, clock: Arc<ManualClock>) -> Engine {
    let project = project();
    let flow = common::flow(&project, flow);
    let options = EngineOptions {
        workers: 1,
        lease_ms: 60_000,
        clock,
        ..EngineOptions::default()
    };
    common::engine(dir, project, vec![flow], options).await
}

async fn run(engine: &Engine, prompt: &str) -> RunRecord {
    let sub = engine
        .submit("ask", json!({"prompt": prompt}), None)
        .await
        .unwrap();
    engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap()
}

async fn events(engine: &Engine, run: &str, kind: &str) -> Vec<LedgerEvent> {
    let ledger = engine.store().ledger(run).await.unwrap();
    ledger.into_iter().filter(|e| e.kind == kind).collect()
}

/// The error text of the run's last failed attempt.
async fn last_error(engine: &Engine, run: &str) -> String {
    let failed = events(engine, run, "step-failed").await;
    let last = failed.last().expect("a failed attempt");
    last.payload["error"].as_str().unwrap().to_owned()
}

async fn sha256_of(engine: &Engine, plugin: &str) -> String {
    let path = weft_tests::repo_root().join(format!("plugins/dist/{plugin}.wasm"));
    let loaded = engine
        .runtime()
        .load_file(&path, PluginKind::Step)
        .await
        .unwrap();
    loaded.sha256().to_owned()
}

const STAMP: &str = "{ set: { stamped: true } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_calls_two_tools_then_answers_and_the_ledger_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let flow = agent_flow("twice", "json-transform", STAMP, 6);
    let engine = engine_for(dir.path(), &flow, clock).await;
    let run = run(&engine, "check invoice 42").await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let out = run.output.unwrap();
    assert_eq!(out["turns"], 3, "{out}");
    let calls = out["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{out}");
    for call in calls {
        assert_eq!(call["tool"], "stamp");
        assert_eq!(call["input"], json!({"text": "check invoice 42"}));
        assert_eq!(
            call["output"],
            json!({"text": "check invoice 42", "stamped": true})
        );
    }
    let answer = out["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("mock answer after 2 tool calls:"),
        "{answer}"
    );
    assert!(answer.contains("\"stamped\":true"), "{answer}");

    assert_eq!(engine.adapter_calls(), 3);
    let id = run.id.as_str();
    assert_eq!(events(&engine, id, "model-call-journaled").await.len(), 3);
    let tools = events(&engine, id, "tool-called").await;
    assert_eq!(tools.len(), 2);
    let sha = sha256_of(&engine, "json-transform").await;
    for (i, e) in tools.iter().enumerate() {
        assert_eq!(e.payload["step"], "ask");
        assert_eq!(e.payload["index"], i);
        assert_eq!(e.payload["plugin"], "json-transform");
        assert_eq!(e.payload["sha256"], sha.as_str());
        assert_eq!(e.payload["ok"], true);
        assert_eq!(e.payload["error"], Value::Null);
    }
    assert!(engine.store().verify(id).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_step_run_again_gets_its_journaled_model_answers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let flow = agent_flow("twice", "json-transform", STAMP, 6);
    let engine = engine_for(dir.path(), &flow, clock.clone()).await;
    let store = engine.store().clone();
    let sub = engine
        .submit("ask", json!({"prompt": "again"}), None)
        .await
        .unwrap();
    // The first execution's lease is reaped before it reports (as after a
    // crash): its result does not count, but its model calls are journaled.
    let first = store
        .lease("doomed", None, 1_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    clock.advance(1_001);
    let now = weft_engine::Clock::now_ms(clock.as_ref());
    assert_eq!(store.expire_leases(now).await.unwrap(), 1);
    assert_eq!(engine.run_task(first).await, TaskOutcome::LeaseLost);
    assert_eq!(engine.adapter_calls(), 3);

    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(engine.adapter_calls(), 3, "a model call was paid twice");
    let out = run.output.unwrap();
    assert_eq!(out["turns"], 3);
    assert_eq!(out["tool_calls"].as_array().unwrap().len(), 2);
    let id = sub.run_id.as_str();
    assert_eq!(events(&engine, id, "model-call-journaled").await.len(), 3);
    // Tools run at least once, like steps: both executions ran both.
    assert_eq!(events(&engine, id, "tool-called").await.len(), 4);
    assert!(store.verify(id).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_within_max_turns_is_a_permanent_error() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let flow = agent_flow("forever", "json-transform", STAMP, 2);
    let engine = engine_for(dir.path(), &flow, clock).await;
    let run = run(&engine, "loop").await;
    assert_ne!(run.status, RunStatus::Succeeded);
    let error = last_error(&engine, &run.id).await;
    assert!(
        error.contains("agent: no answer after 2 turns (last: "),
        "{error}"
    );
    assert!(error.contains("\"tool\":\"stamp\""), "{error}");
    let failed = events(&engine, &run.id, "step-failed").await;
    assert_eq!(failed.len(), 1, "a permanent error is not retried");
    assert_eq!(engine.adapter_calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_plugin_that_is_not_declared_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let flow = agent_flow("mock", "no-such-plugin", "{}", 6);
    let engine = engine_for(dir.path(), &flow, clock).await;
    let run = run(&engine, "hi").await;
    assert_ne!(run.status, RunStatus::Succeeded);
    let error = last_error(&engine, &run.id).await;
    assert!(error.contains("invalid"), "{error}");
    assert!(
        error.contains("call-tool: unknown tool plugin `no-such-plugin`"),
        "{error}"
    );
    let tools = events(&engine, &run.id, "tool-called").await;
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].payload["ok"], false);
    assert_eq!(tools[0].payload["sha256"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_call_itself_as_a_tool() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let flow = agent_flow("mock", "agent", "{}", 6);
    let engine = engine_for(dir.path(), &flow, clock).await;
    let run = run(&engine, "hi").await;
    assert_ne!(run.status, RunStatus::Succeeded);
    let error = last_error(&engine, &run.id).await;
    assert!(
        error.contains("`agent` cannot call itself as a tool"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_tool_is_told_to_the_model_and_the_agent_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    // `strict` with a missing path: json-transform fails with invalid-input.
    let with = "{ strict: true, pick: [missing] }";
    let flow = agent_flow("mock", "json-transform", with, 6);
    let engine = engine_for(dir.path(), &flow, clock).await;
    let run = run(&engine, "hi").await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let out = run.output.unwrap();
    let call = &out["tool_calls"][0];
    let error = call["error"].as_str().unwrap();
    assert!(error.contains("missing"), "{error}");
    assert!(call.get("output").is_none());
    let answer = out["answer"].as_str().unwrap();
    assert!(
        answer.contains("\"error\""),
        "the model was not told: {answer}"
    );
    let tools = events(&engine, &run.id, "tool-called").await;
    assert_eq!(tools[0].payload["ok"], false);
    assert!(engine.store().verify(&run.id).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tool_name_from_the_model_is_told_to_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let flow = agent_flow("wrong-name", "json-transform", STAMP, 6);
    let engine = engine_for(dir.path(), &flow, clock).await;
    let run = run(&engine, "hi").await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let out = run.output.unwrap();
    let error = out["tool_calls"][0]["error"].as_str().unwrap();
    assert_eq!(error, "unknown tool `nope`; the tools are: stamp");
    assert!(out["answer"].as_str().unwrap().contains("unknown tool"));
    assert!(events(&engine, &run.id, "tool-called").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_agent_config_is_invalid_input_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let flow = agent_flow("mock", "json-transform", STAMP, 6).replace(
        "          description: Stamps the text.\n",
        "          description: Stamps the text.\n          input_schema: 7\n",
    );
    let engine = engine_for(dir.path(), &flow, clock).await;
    let run = run(&engine, "hi").await;
    assert_ne!(run.status, RunStatus::Succeeded);
    let error = last_error(&engine, &run.id).await;
    assert!(error.contains("config.tools[0].input_schema"), "{error}");
    assert_eq!(engine.adapter_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_agent_flow_runs() {
    let root = weft_tests::repo_root();
    let project = weft_flow::ProjectConfig::load(&root.join("weft.yaml")).unwrap();
    let flow = weft_flow::load_flow(&root.join("flows/agent-demo.yaml"), &project).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(project, vec![flow], dir.path()).await.unwrap();
    let sub = engine.submit("agent-demo", json!({}), None).await.unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let out = run.output.unwrap();
    assert_eq!(out["turns"], 2, "{out}");
    let answer = out["answer"].as_str().unwrap();
    assert!(answer.contains("INV-2026-11-042"), "{answer}");
    assert!(answer.contains("customer ada"), "{answer}");
    assert!(engine.store().verify(&sub.run_id).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_may_not_call_a_tool_plugin_outside_its_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "{}tenants:\n  narrow:\n    capabilities:\n      plugins: [agent]\n",
        common::PROJECT.replace(
            "plugins:\n",
            "plugins:\n  agent: { path: plugins/dist/agent.wasm, kind: step }\n",
        )
    );
    let project = common::project_from(&source);
    let flow = common::flow(&project, &agent_flow("mock", "json-transform", STAMP, 6));
    let options = EngineOptions {
        workers: 1,
        lease_ms: 60_000,
        clock: Arc::new(ManualClock::new(T0)),
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let narrow = weft_engine::SubmitOptions {
        tenant: Some("narrow".into()),
        ..weft_engine::SubmitOptions::default()
    };
    // The flow's only `uses:` is `agent`, which the tenant may use: the submit
    // is accepted, and the tool is refused when the agent calls it.
    let sub = engine
        .submit_with("ask", json!({"prompt": "hi"}), narrow)
        .await
        .unwrap();
    let refused = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    let tools = events(&engine, &refused.id, "tool-called").await;
    assert_eq!(tools.len(), 1, "{tools:?}.await");
    assert_eq!(tools[0].payload["ok"], false);
    assert_eq!(
        tools[0].payload["sha256"], "",
        "the refused tool was loaded"
    );
    let error = tools[0].payload["error"].as_str().unwrap();
    assert!(
        error.contains("tenant `narrow` may not use plugin `json-transform`"),
        "{error}"
    );

    // The default tenant (undeclared: unrestricted) runs the same flow.
    let run = run(&engine, "hi").await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let tools = events(&engine, &run.id, "tool-called").await;
    assert_eq!(tools[0].payload["ok"], true);
}
