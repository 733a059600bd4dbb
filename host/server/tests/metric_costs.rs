//! `weft_cost_usd_total` starts from the store's totals, read once when the
//! metrics start following the engine, and adds the engine's own charges
//! since: a scrape reads no cost table, so a charge committed by another
//! process after that (here written to the store directly) is not in it until
//! a restart, which reads the store's totals again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use weft_core::Money;
use weft_engine::{Engine, EngineOptions};
use weft_flow::{ProjectConfig, compile_flow};
use weft_server::Metrics;
use weft_store_api::{Charge, RunStatus};

const PROJECT: &str = "id_prefix: cost\nplugins:\n  \
    prompt: { path: plugins/dist/prompt.wasm, kind: step }\n  \
    mock-model: { path: plugins/dist/mock-model.wasm, kind: model }\n\
    models:\n  mock:\n    adapter: mock-model\n    \
    price: { input_per_million_usd: 0, output_per_million_usd: 10000 }\n";
const FLOW: &str = "id: ask\nsteps:\n  ask:\n    uses: prompt\n    model: mock\n    \
    with: { template: \"Say hello\", max_tokens: 3 }\n";
/// Three output tokens at $10 000 per million.
const CALL_MICRO: u64 = 30_000;

async fn open(dir: &Path) -> Engine {
    let root = weft_tests::repo_root();
    let project = ProjectConfig::parse("weft.yaml", PROJECT, &root).unwrap();
    let flow = compile_flow("ask.yaml", FLOW, &project).unwrap();
    let options = EngineOptions {
        workers: 1,
        ..EngineOptions::default()
    };
    Engine::open_with(project, vec![flow], dir, options)
        .await
        .unwrap()
}

/// A charge of `micro_usd` written to the store as another daemon's engine
/// would (its model call journaled as call `index` of a step of a new run).
async fn charged_elsewhere(engine: &Engine, index: u32, micro_usd: u64) {
    let run = engine.submit("ask", json!({}), None).await.unwrap().run_id;
    engine.cancel(&run, None).await.unwrap();
    let charge = Charge {
        day: "2026-11-22".into(),
        pool: "default".into(),
        model: "mock".into(),
        input_tokens: 0,
        output_tokens: 3,
        micro_usd,
        reservation: None,
    };
    let value = json!({"elsewhere": index});
    let now = engine.now_ms();
    let stored = engine
        .store()
        .journal_put_charged(&run, "ask", index, value, charge, now)
        .await
        .unwrap();
    assert!(stored);
}

/// The store's all-time total, in micro-dollars.
async fn store_total(engine: &Engine) -> u64 {
    let rows = engine.store().costs("", None).await.unwrap();
    rows.iter().map(|r| r.micro_usd).sum()
}

/// The value of the one `weft_cost_usd_total` series in a scrape.
async fn scraped(metrics: &Metrics, engine: &Engine) -> f64 {
    let text = metrics.render(engine).await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("weft_cost_usd_total{") && l.contains("model=\"mock\""))
        .unwrap_or_else(|| panic!("no cost series in:\n{text}"));
    assert!(line.contains("tenant=\"default\"") && line.contains("pool=\"default\""));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn usd(micro: u64) -> f64 {
    Money::from_micros(micro).as_usd()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cost_counter_starts_from_the_store_and_follows_its_own_charges() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    charged_elsewhere(&engine, 0, 10_000).await;
    let metrics = Arc::new(Metrics::for_instance("node-a").unwrap());
    metrics.follow(&engine).await.unwrap();
    assert_eq!(scraped(&metrics, &engine).await, usd(10_000));

    // A model call of this engine: counted from its charge, in memory.
    let run = engine.submit("ask", json!({}), None).await.unwrap().run_id;
    let record = engine.run_to_completion(&run, |_| {}).await.unwrap();
    assert_eq!(record.status, RunStatus::Succeeded);
    assert_eq!(record.cost.micro_usd, CALL_MICRO);
    assert_eq!(scraped(&metrics, &engine).await, usd(10_000 + CALL_MICRO));
    assert_eq!(store_total(&engine).await, 10_000 + CALL_MICRO);

    // Another daemon's charge after the start: not this daemon's to count.
    charged_elsewhere(&engine, 1, 5_000).await;
    assert_eq!(scraped(&metrics, &engine).await, usd(10_000 + CALL_MICRO));

    // A restart reads the store's totals again: every charge is in them.
    engine.store().close().await;
    drop(engine);
    let engine = open(dir.path()).await;
    let metrics = Arc::new(Metrics::for_instance("node-a").unwrap());
    metrics.follow(&engine).await.unwrap();
    let total = store_total(&engine).await;
    assert_eq!(total, 15_000 + CALL_MICRO);
    assert_eq!(scraped(&metrics, &engine).await, usd(total));
}
