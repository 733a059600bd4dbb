//! One flow with everything at once: a fan-out and a fan-in, `${{ input.… }}`
//! and `${{ steps.….output.… }}` templates, a step that fails transiently once
//! and succeeds on its retry, and a step that fails permanently and is
//! dead-lettered (so the step after it never runs). Checked: the outputs of the
//! steps that finish, the exact ledger events of every step, the dead letter,
//! and the ledger's hash chain.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use weft_engine::{EngineOptions, ProgressEvent};
use weft_store_api::{FailDecision, RunStatus};

const PROJECT: &str = r"
id_prefix: test
plugins:
  echo: { path: plugins/dist/echo.wasm, kind: step }
  json-transform: { path: plugins/dist/json-transform.wasm, kind: step }
  flaky: { path: plugins/dist/flaky-step.wasm, kind: step }
  exp-backoff:
    path: plugins/dist/exp-backoff.wasm
    kind: retry
    config: { base_ms: 5, jitter_ms: 0 }
";

/// `fetch` fans out to `price` (transient failure, then success), `notify`
/// (permanent failure) and `shape`; `join` needs `price` and `shape`;
/// `archive` needs `notify` and `join`, so it never runs.
const FLOW: &str = r#"
id: combined
inputs:
  customer: { type: string, required: true }
  order: { type: object, required: true }
  tier: { type: string, default: gold }
defaults:
  retry: { strategy: exp-backoff, max_attempts: 3 }
steps:
  fetch:
    uses: echo
  price:
    uses: flaky
    needs: [fetch]
    with:
      succeed_on_attempt: 2
      order_id: ${{ steps.fetch.output.order.id }}
      first_item: ${{ steps.fetch.output.order.items.0 }}
      label: "order ${{ steps.fetch.output.order.id }} for ${{ input.customer }}"
  notify:
    uses: flaky
    needs: [fetch]
    with: { permanent: true, to: "${{ input.customer }}" }
  shape:
    uses: json-transform
    needs: [fetch]
    with:
      pick: [fetch.customer, fetch.order.id]
      set: { tier: "${{ input.tier }}" }
  join:
    uses: echo
    needs: [price, shape]
    with: { wrap: joined }
  archive:
    uses: echo
    needs: [notify, join]
"#;

/// The kinds of the run's ledger events, in order, per step (`""` for events
/// about the run as a whole).
async fn events_by_step(
    store: &dyn weft_store_api::Store,
    run: &str,
) -> BTreeMap<String, Vec<String>> {
    let mut by_step: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in store.ledger(run).await.unwrap() {
        let step = e.payload["step"].as_str().unwrap_or_default().to_owned();
        by_step.entry(step).or_default().push(e.kind.clone());
    }
    by_step
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_fan_in_with_a_retry_and_a_dead_letter() {
    let project = common::project_from(PROJECT);
    let flow = common::flow(&project, FLOW);
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(dir.path(), project, vec![flow], EngineOptions::default()).await;
    let input = json!({"customer": "ada", "order": {"id": 7, "items": ["tea", "cups"]}});
    let sub = engine.submit("combined", input, None).await.unwrap();
    let mut decisions = BTreeMap::new();
    let run = engine
        .run_to_completion(&sub.run_id, |e| {
            if let ProgressEvent::StepFailed {
                step,
                attempt,
                decision,
                ..
            } = e
            {
                decisions.insert((step, attempt), decision);
            }
        })
        .await
        .unwrap();
    let run_id = sub.run_id.as_str();
    let store = engine.store();

    // A dead-lettered step leaves the run waiting for an operator.
    assert_eq!(run.status, RunStatus::Running, "{:?}", run.error);
    assert_eq!(run.output, None);

    // Outputs of the steps that finished, with their templates rendered.
    let outputs = store.step_outputs(run_id).await.unwrap();
    let fetched =
        json!({"customer": "ada", "order": {"id": 7, "items": ["tea", "cups"]}, "tier": "gold"});
    let price = json!({
        "attempt": 2,
        "config": {
            "succeed_on_attempt": 2,
            "order_id": 7,
            "first_item": "tea",
            "label": "order 7 for ada",
        },
        "input": {"fetch": fetched},
    });
    let shape = json!({"fetch.customer": "ada", "fetch.order.id": 7, "tier": "gold"});
    let expected: BTreeMap<String, Value> = [
        ("fetch", fetched.clone()),
        ("price", price.clone()),
        ("shape", shape.clone()),
        ("join", json!({"joined": {"price": price, "shape": shape}})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(outputs, expected);

    // Every ledger event, by step, in order.
    let ran = ["step-started", "step-succeeded"];
    let expected: BTreeMap<String, Vec<String>> = [
        ("", &["run-created"][..]),
        ("fetch", &ran[..]),
        (
            "price",
            &[
                "step-started",
                "step-failed",
                "step-retry-scheduled",
                "step-started",
                "step-succeeded",
            ][..],
        ),
        (
            "notify",
            &["step-started", "step-failed", "step-dead-lettered"][..],
        ),
        ("shape", &ran[..]),
        ("join", &ran[..]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
    .collect();
    assert_eq!(events_by_step(store.as_ref(), run_id).await, expected);
    let ledger = store.ledger(run_id).await.unwrap();
    let failed: Vec<(&str, u64)> = ledger
        .iter()
        .filter(|e| e.kind == "step-failed")
        .map(|e| {
            let step = e.payload["step"].as_str().unwrap();
            (step, e.payload["attempt"].as_u64().unwrap())
        })
        .collect();
    assert!(failed.contains(&("price", 1)) && failed.contains(&("notify", 1)));
    assert_eq!(failed.len(), 2);

    // What the progress stream said the retry strategy decided.
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    let retry = &decisions[&("price".to_owned(), 1)];
    assert!(matches!(retry, FailDecision::Retry { .. }), "{retry:?}");
    let dead = &decisions[&("notify".to_owned(), 1)];
    assert!(
        matches!(dead, FailDecision::DeadLetter { reason } if reason.starts_with("not retried")),
        "{dead:?}"
    );

    // The dead letter.
    let dlq = store.dlq_list().await.unwrap();
    assert_eq!(dlq.len(), 1, "{dlq:?}");
    assert_eq!(
        (dlq[0].run.as_str(), dlq[0].step.as_str()),
        (run_id, "notify")
    );
    assert!(
        dlq[0]
            .reason
            .contains("flaky-step: configured to fail permanently (attempt 1)"),
        "{}",
        dlq[0].reason
    );

    let report = store.verify(run_id).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.events, ledger.len() as u64);
}
