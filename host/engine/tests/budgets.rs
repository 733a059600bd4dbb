//! Tenant budgets and capabilities, on the real mock-model adapter with a
//! price: concurrent calls never overspend, replays are not charged twice,
//! `wait` defers to the next UTC day, capabilities refuse plugins and models.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;
use weft_store_api::WorkerSite;

use serde_json::json;
use weft_core::Money;
use weft_engine::{
    Clock, EngineError, EngineOptions, ManualClock, ProgressEvent, SubmitOptions, TaskOutcome,
};
use weft_store_api::{FailDecision, RunStatus, utc_date};

/// 2026-11-22 00:00 UTC.
const MIDNIGHT: u64 = 1_795_305_600_000;
const DAY_MS: u64 = 86_400_000;

/// Output tokens cost $10 per million = 10 000 micro-dollars each; input is
/// free. A call is capped at 3 output tokens and the mock's answer is always
/// longer, so every call costs exactly its bound: 30 000 micro-dollars.
const CALL_MICRO: u64 = 30_000;

const PROJECT: &str = r#"
id_prefix: test
plugins:
  echo: { path: plugins/dist/echo.wasm, kind: step }
  prompt: { path: plugins/dist/prompt.wasm, kind: step }
  mock-model: { path: plugins/dist/mock-model.wasm, kind: model }
  exp-backoff:
    path: plugins/dist/exp-backoff.wasm
    kind: retry
    config: { base_ms: 5, jitter_ms: 0, max_attempts: 2 }
models:
  mock:
    adapter: mock-model
    price: { input_per_million_usd: 0, output_per_million_usd: 10000 }
  pricey:
    adapter: mock-model
    price: { input_per_million_usd: 0, output_per_million_usd: 10000 }
tenants:
  acme:
    budget_usd_daily: 0.50
  later:
    budget_usd_daily: 0.05
    on_budget_exceeded: wait
  narrow:
    capabilities:
      plugins: [prompt]
      models: ["mo*"]
"#;

const ASK: &str = r#"
id: ask
inputs:
  name: { type: string, required: true }
steps:
  ask:
    uses: prompt
    model: mock
    with: { template: "Say hello to {{name}}", max_tokens: 3 }
"#;

const ASK_PRICEY: &str = r#"
id: ask-pricey
steps:
  ask:
    uses: prompt
    with: { model: pricey, template: "Say hello", max_tokens: 3 }
"#;

const ECHO: &str = r#"
id: echo
steps:
  say:
    uses: echo
    with: { text: hi }
"#;

fn for_tenant(tenant: &str) -> SubmitOptions {
    SubmitOptions {
        tenant: Some(tenant.into()),
        ..SubmitOptions::default()
    }
}

async fn engine_at(
    dir: &std::path::Path,
    clock: Arc<ManualClock>,
    workers: usize,
) -> weft_engine::Engine {
    let project = common::project_from(PROJECT);
    let flows = vec![
        common::flow(&project, ASK),
        common::flow(&project, ASK_PRICEY),
        common::flow(&project, ECHO),
    ];
    let options = EngineOptions {
        workers,
        lease_ms: 60_000,
        clock,
        ..EngineOptions::default()
    };
    common::engine(dir, project, flows, options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_runs_never_overspend_the_tenant_budget() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(MIDNIGHT + 10 * 3_600_000));
    let engine = engine_at(dir.path(), clock.clone(), 16).await;
    let budget: u64 = 500_000;
    let mut runs = Vec::new();
    for i in 0..64 {
        let input = json!({"name": format!("run {i}")});
        let sub = engine
            .submit_with("ask", input, for_tenant("acme"))
            .await
            .unwrap();
        runs.push(sub.run_id);
    }
    let mut events = engine.subscribe();
    let workers = engine.start();
    let mut finished = 0;
    while finished < runs.len() {
        let event = tokio::time::timeout(Duration::from_secs(120), events.recv())
            .await
            .expect("the runs finish")
            .unwrap();
        if let ProgressEvent::RunFinished { .. } = event {
            finished += 1;
        }
    }
    workers.shutdown().await;

    let store = engine.store();
    let day = utc_date(clock.now_ms());
    let spent = store.tenant_day_cost(&day, "acme").await.unwrap();
    assert!(
        spent <= budget,
        "overspent: {spent} of {budget} micro-dollars"
    );
    assert!(
        spent + CALL_MICRO > budget,
        "the budget was not used: {spent} of {budget}"
    );
    let (mut per_run_sum, mut succeeded, mut refused) = (0, 0, 0);
    for run in &runs {
        let record = store.run_get(run).await.unwrap().unwrap();
        let (calls, micro) = store.run_cost(run).await.unwrap();
        per_run_sum += micro;
        match record.status {
            RunStatus::Succeeded => {
                succeeded += 1;
                assert_eq!((calls, micro), (1, CALL_MICRO), "{run}");
                assert_eq!(
                    common::count(store.as_ref(), run, "model-call-charged", None).await,
                    1
                );
            }
            RunStatus::Failed => {
                refused += 1;
                assert_eq!((calls, micro), (0, 0), "{run}");
                let ledger = store.ledger(run).await.unwrap();
                let failed = ledger.iter().find(|e| e.kind == "run-failed").unwrap();
                let error = failed.payload["error"].as_str().unwrap();
                assert!(
                    error.contains("budget exceeded: tenant acme has spent"),
                    "{error}"
                );
            }
            other => panic!("run {run} ended {other:?}"),
        }
    }
    assert_eq!(
        succeeded,
        budget / CALL_MICRO,
        "{succeeded} runs were charged"
    );
    assert_eq!(succeeded + refused, 64);
    assert_eq!(
        per_run_sum, spent,
        "per-run charges sum to the tenant's day"
    );
    assert_eq!(store.pool_day_cost(&day, "default").await.unwrap(), spent);
    let rows = store.costs(&day, Some("acme")).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].calls, rows[0].micro_usd), (succeeded, spent));
    assert_eq!(rows[0].output_tokens, 3 * succeeded);
    assert_eq!(
        engine.adapter_calls(),
        succeeded,
        "refused calls reached the adapter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_replay_is_not_charged_again() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(MIDNIGHT + 3_600_000));
    let engine = engine_at(dir.path(), clock.clone(), 1).await;
    let store = engine.store().clone();
    let sub = engine
        .submit_with("ask", json!({"name": "ada"}), for_tenant("acme"))
        .await
        .unwrap();
    // The first attempt calls the model but its lease is reaped first, so its
    // result is dropped; the second gets the journaled answer.
    let first = store
        .lease("doomed", None, 1_000, WorkerSite::Remote, clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    clock.advance(1_001);
    assert_eq!(store.expire_leases(clock.now_ms()).await.unwrap(), 1);
    assert_eq!(engine.run_task(first).await, TaskOutcome::LeaseLost);
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(engine.adapter_calls(), 1);
    assert_eq!(store.run_cost(&sub.run_id).await.unwrap(), (1, CALL_MICRO));
    let day = utc_date(clock.now_ms());
    assert_eq!(
        store.tenant_day_cost(&day, "acme").await.unwrap(),
        CALL_MICRO
    );
    assert_eq!(
        common::count(&*store, &sub.run_id, "model-call-charged", None).await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_mode_delays_the_task_to_the_next_utc_day() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(MIDNIGHT + 23 * 3_600_000));
    let engine = engine_at(dir.path(), clock.clone(), 1).await;
    let store = engine.store().clone();
    let submit = |name: &'static str| {
        let engine = engine.clone();
        async move {
            engine
                .submit_with("ask", json!({"name": name}), for_tenant("later"))
                .await
                .unwrap()
                .run_id
        }
    };
    let (a, b) = (submit("a").await, submit("b").await);
    let lease = store
        .lease("w", None, 60_000, WorkerSite::Remote, clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.run, a);
    assert!(matches!(
        engine.run_task(lease).await,
        TaskOutcome::Succeeded { .. }
    ));
    // $0.03 spent of $0.05: the next call could cost $0.03 and must wait.
    let lease = store
        .lease("w", None, 60_000, WorkerSite::Remote, clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.run, b);
    let next_day = MIDNIGHT + DAY_MS;
    assert_eq!(
        engine.run_task(lease).await,
        TaskOutcome::Failed {
            decision: FailDecision::Retry { at_ms: next_day }
        }
    );
    assert_eq!(engine.adapter_calls(), 1);
    clock.set(next_day - 1);
    assert!(
        store
            .lease("w", None, 60_000, WorkerSite::Remote, clock.now_ms())
            .await
            .unwrap()
            .is_none()
    );
    clock.set(next_day);
    let lease = store
        .lease("w", None, 60_000, WorkerSite::Remote, clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.run, b);
    assert!(matches!(
        engine.run_task(lease).await,
        TaskOutcome::Succeeded { .. }
    ));
    assert_eq!(
        store
            .tenant_day_cost(&utc_date(next_day), "later")
            .await
            .unwrap(),
        CALL_MICRO
    );
    assert_eq!(
        store
            .tenant_day_cost(&utc_date(MIDNIGHT), "later")
            .await
            .unwrap(),
        CALL_MICRO
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_refuse_plugins_at_submit_and_models_at_call_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(MIDNIGHT + 3_600_000));
    let engine = engine_at(dir.path(), clock, 1).await;
    let err = engine
        .submit_with("echo", json!({}), for_tenant("narrow"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Forbidden { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("tenant `narrow` may not use plugin `echo`"),
        "{text}"
    );
    // Other tenants (declared without capabilities, or not declared) may.
    engine
        .submit_with("echo", json!({}), for_tenant("acme"))
        .await
        .unwrap();
    engine.submit("echo", json!({}), None).await.unwrap();

    let sub = engine
        .submit_with("ask-pricey", json!({}), for_tenant("narrow"))
        .await
        .unwrap();
    // A permanent error: exp-backoff dead-letters the task.
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Running);
    let ledger = engine.store().ledger(&sub.run_id).await.unwrap();
    let failed = ledger.iter().find(|e| e.kind == "step-failed").unwrap();
    let error = failed.payload["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("model `pricey` is not allowed for tenant `narrow`"),
        "{error}"
    );
    assert_eq!(engine.adapter_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_limit_refuses_the_call_that_could_overspend_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(MIDNIGHT + 3_600_000));
    let engine = engine_at(dir.path(), clock.clone(), 1).await;
    // $0.05 a day for the default pool: one $0.03 call fits, a second does not.
    engine.set_pool_limit(|pool| (pool == "default").then_some(Money::from_micros(50_000)));
    let first = engine
        .submit("ask", json!({"name": "a"}), None)
        .await
        .unwrap();
    let run = engine
        .run_to_completion(&first.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        engine.pool_spent_today("default").await.unwrap().micros(),
        CALL_MICRO
    );
    assert_eq!(engine.pool_spent_today("other").await.unwrap().micros(), 0);

    let second = engine
        .submit("ask", json!({"name": "b"}), None)
        .await
        .unwrap();
    let run = engine
        .run_to_completion(&second.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.unwrap_or_default();
    assert!(
        error.contains("budget exceeded: pool default has spent $0.03"),
        "{error}"
    );
    assert_eq!(
        engine.adapter_calls(),
        1,
        "the refused call reached the adapter"
    );
    assert_eq!(
        engine.pool_spent_today("default").await.unwrap().micros(),
        CALL_MICRO
    );
    // The default tenant has no budget; only the pool was charged against.
    assert_eq!(
        engine.tenant_spent_today("default").await.unwrap().micros(),
        CALL_MICRO
    );

    // A limit raised at run time applies to the next call.
    engine.set_pool_limit(|_| Some(Money::from_micros(1_000_000)));
    let third = engine
        .submit("ask", json!({"name": "c"}), None)
        .await
        .unwrap();
    let run = engine
        .run_to_completion(&third.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        engine.pool_spent_today("default").await.unwrap().micros(),
        2 * CALL_MICRO
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_replaced_after_submit_cannot_smuggle_in_a_forbidden_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(MIDNIGHT + 3_600_000));
    let engine = engine_at(dir.path(), clock, 1).await;
    let project = common::project_from(PROJECT);
    // `narrow` may use `prompt`: the submit is accepted.
    let sub = engine
        .submit_with("ask", json!({"name": "ada"}), for_tenant("narrow"))
        .await
        .unwrap();
    // Then `ask` is swapped for a flow whose step uses `echo`.
    let swapped = ECHO
        .replace("id: echo", "id: ask")
        .replace("  say:", "  ask:");
    let flows = vec![common::flow(&project, &swapped)];
    engine.replace_flows(flows).await.unwrap();
    engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    let ledger = engine.store().ledger(&sub.run_id).await.unwrap();
    assert!(
        ledger.iter().all(|e| e.kind != "step-succeeded"),
        "the forbidden plugin ran"
    );
    let failed = ledger.iter().find(|e| e.kind == "step-failed").unwrap();
    let error = failed.payload["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("tenant `narrow` may not use plugin `echo`"),
        "{error}"
    );
}
