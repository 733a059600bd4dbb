//! Throughput and latency of runs on the embedded durable store: a 3-step `echo`
//! flow (every step a real Wasm call, every state change a durable redb commit).
//!
//! `cargo bench -p weft-engine --bench flow_throughput`; `WEFT_BENCH_RUNS` (default
//! 2,000) sets N, `WEFT_BENCH_WORKERS` (default 8) the worker count. Prints:
//! (a) N runs submitted then drained: steps/s and runs/s; (b) p50/p95/p99 of one
//! run at a time, 200 times; (c) commits/s and operations per commit; (a) again on
//! top of the history the first passes left.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should fail loudly"
)]

use std::time::Instant;

use serde_json::json;
use weft_engine::{Engine, EngineOptions, ProgressEvent};
use weft_flow::{ProjectConfig, compile_flow};

const PROJECT: &str =
    "id_prefix: bench\nplugins:\n  echo: { path: plugins/dist/echo.wasm, kind: step }\n";
const FLOW: &str = r#"
id: three-echoes
inputs:
  i: { type: integer, default: 0 }
steps:
  a: { uses: echo }
  b: { uses: echo, needs: [a] }
  c: { uses: echo, needs: [b] }
"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn drain(events: &mut tokio::sync::mpsc::UnboundedReceiver<ProgressEvent>, runs: usize) {
    let mut finished = 0;
    while finished < runs {
        if let ProgressEvent::RunFinished { status, run } =
            events.recv().await.expect("engine events")
        {
            assert_eq!(status, weft_store::RunStatus::Succeeded, "run {run}");
            finished += 1;
        }
    }
}

async fn throughput(engine: &Engine, runs: usize, label: &str) {
    let mut events = engine.subscribe();
    let before = engine.store().writer_stats();
    let started = Instant::now();
    // Submitted concurrently, so the writer can group their commits.
    let submits: Vec<_> = (0..runs)
        .map(|i| {
            let engine = engine.clone();
            tokio::spawn(
                async move { engine.submit("three-echoes", json!({ "i": i }), None).await },
            )
        })
        .collect();
    for s in submits {
        s.await.unwrap().unwrap();
    }
    let submitted = started.elapsed();
    drain(&mut events, runs).await;
    let elapsed = started.elapsed();
    let after = engine.store().writer_stats();
    let commits = after.commits - before.commits;
    let ops = after.ops - before.ops;
    println!(
        "{label}: {runs} runs / {} steps in {:.2?} (submitted in {:.2?}): {:.0} steps/s, {:.0} runs/s; \
         {commits} commits ({:.0}/s), {:.1} ops per commit",
        runs * 3,
        elapsed,
        submitted,
        (runs * 3) as f64 / elapsed.as_secs_f64(),
        runs as f64 / elapsed.as_secs_f64(),
        commits as f64 / elapsed.as_secs_f64(),
        ops as f64 / commits.max(1) as f64,
    );
}

async fn latency(engine: &Engine, samples: usize) {
    let mut events = engine.subscribe();
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let started = Instant::now();
        engine
            .submit("three-echoes", json!({ "i": i }), None)
            .await
            .unwrap();
        drain(&mut events, 1).await;
        times.push(started.elapsed());
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    println!(
        "latency of one 3-step run, {samples} runs one after another: p50 {:.2?}, p95 {:.2?}, p99 {:.2?}, max {:.2?}",
        pct(0.5),
        pct(0.95),
        pct(0.99),
        pct(1.0)
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` compiles this; only `cargo bench` runs it.
    }
    let runs = env_usize("WEFT_BENCH_RUNS", 2_000);
    let workers = env_usize("WEFT_BENCH_WORKERS", 8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let root = weft_tests::repo_root();
        let project = ProjectConfig::parse("weft.yaml", PROJECT, &root).unwrap();
        let flow = compile_flow("three-echoes.yaml", FLOW, &project).unwrap();
        let options = EngineOptions {
            workers,
            ..EngineOptions::default()
        };
        let engine = Engine::open_with(project, vec![flow], dir.path(), options)
            .await
            .unwrap();
        let workers = engine.start();
        // Warm up: compile/cache the component, fault in the pool slots.
        throughput(&engine, 50, "warm-up").await;
        throughput(&engine, runs, "(a) fresh store").await;
        latency(&engine, 200).await;
        throughput(&engine, runs, "(d) again, on the history above").await;
        let size = std::fs::metadata(dir.path().join("weft.redb"))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "store file after {} runs: {:.1} MiB",
            2 * runs + 250,
            size as f64 / 1048576.0
        );
        workers.shutdown().await;
    });
}
