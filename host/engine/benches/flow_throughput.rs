//! Throughput and latency of runs on the embedded durable store: a 3-step `echo`
//! flow (every step a real Wasm call, every completion a durable redb commit).
//!
//! `cargo bench -p weft-engine --bench flow_throughput`. Environment:
//! `WEFT_BENCH_RUNS` (default 10,000) sets N, `WEFT_BENCH_WORKERS` (default 64)
//! the in-process worker count, `WEFT_BENCH_HISTORY` (default `100000`; a comma
//! list such as `100000,1000000`) the history sizes for (d). Prints: (a) N runs
//! submitted at once, then drained: steps/s and runs/s; (b) p50/p95/p99 of one
//! run at a time, 200 times; (c) commits/s (durable and in all) and operations
//! per commit; (d) (a) again once the store holds each history size (the
//! history is made of real runs of the same flow).

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
        if let ProgressEvent::RunFinished { status, run, .. } =
            events.recv().await.expect("engine events")
        {
            assert_eq!(status, weft_store_api::RunStatus::Succeeded, "run {run}");
            finished += 1;
        }
    }
}

/// Submits `runs` runs concurrently (so the writer can group their commits)
/// and waits until every submission is acknowledged.
async fn submit_all(engine: &Engine, runs: usize) {
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
}

/// Runs `runs` runs (submitted in chunks, so memory stays flat) without
/// printing: builds history for (d).
async fn fill(engine: &Engine, runs: usize) {
    let mut events = engine.subscribe();
    let mut left = runs;
    while left > 0 {
        let chunk = left.min(20_000);
        submit_all(engine, chunk).await;
        drain(&mut events, chunk).await;
        left -= chunk;
    }
}

async fn throughput(engine: &Engine, runs: usize, label: &str) {
    let mut events = engine.subscribe();
    let before = engine.store().writer_stats();
    let started = Instant::now();
    submit_all(engine, runs).await;
    let submitted = started.elapsed();
    drain(&mut events, runs).await;
    let elapsed = started.elapsed();
    let after = engine.store().writer_stats();
    let commits = after.commits - before.commits;
    let durable = after.durable_commits - before.durable_commits;
    let ops = after.ops - before.ops;
    let secs = elapsed.as_secs_f64();
    println!(
        "{label}: {runs} runs / {} steps in {elapsed:.2?} (submitted in {submitted:.2?}): \
         {:.0} steps/s, {:.0} runs/s; {commits} commits ({:.0}/s), {durable} of them durable \
         ({:.0}/s), {:.1} ops per commit",
        runs * 3,
        (runs * 3) as f64 / secs,
        runs as f64 / secs,
        commits as f64 / secs,
        durable as f64 / secs,
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

/// The p50 of 100 `fdatasync`s of a 4 KiB write in `dir`: what one durable
/// commit costs at the least on this disk, right now.
fn fsync_p50(dir: &std::path::Path) -> std::time::Duration {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut times: Vec<_> = (0..100)
        .map(|_| {
            file.write_all(&[7u8; 4096]).unwrap();
            let started = Instant::now();
            file.sync_data().unwrap();
            started.elapsed()
        })
        .collect();
    std::fs::remove_file(&path).unwrap();
    times.sort();
    times[50]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` compiles this; only `cargo bench` runs it.
    }
    let runs = env_usize("WEFT_BENCH_RUNS", 10_000);
    let history: Vec<usize> = std::env::var("WEFT_BENCH_HISTORY")
        .unwrap_or_else(|_| "100000".into())
        .split(',')
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    let workers = env_usize("WEFT_BENCH_WORKERS", 64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        println!(
            "disk: fdatasync of 4 KiB p50 {:.2?}; {workers} workers",
            fsync_p50(dir.path())
        );
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
        let mut held = 250 + runs;
        for target in history {
            if target > held {
                let started = Instant::now();
                fill(&engine, target - held).await;
                println!(
                    "history: {} more runs in {:.1?}",
                    target - held,
                    started.elapsed()
                );
                held = target;
            }
            let label = format!("(d) on {held} runs of history");
            throughput(&engine, runs, &label).await;
            held += runs;
            let size = std::fs::metadata(dir.path().join("weft.redb"))
                .map(|m| m.len())
                .unwrap_or(0);
            println!(
                "store file with {held} runs: {:.1} MiB",
                size as f64 / 1048576.0
            );
        }
        workers.shutdown().await;
    });
}
