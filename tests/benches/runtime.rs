//! Runtime benchmarks: instantiate + call of `echo` with the pooling allocator,
//! the call alone, and loading a component from the on-disk cache at start-up.
//!
//! `cargo bench -p weft-tests --bench runtime`. After criterion's groups, a
//! per-call latency histogram (p50/p99) of instantiate + call is printed.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented fn")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should fail loudly"
)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use weft_core::PluginKind;
use weft_runtime::{CallContext, CallLimits, Runtime, RuntimeConfig, bench};
use weft_tests::{plugin_bytes, run_info};

const INPUT: &str = r#"{"order":42,"items":["a","b"],"note":"benchmark"}"#;

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn calls(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let echo = rt
        .block_on(runtime.load("echo", &plugin_bytes("echo"), PluginKind::Step))
        .unwrap();
    let ctx = CallContext::new(CallLimits::default());
    let info = run_info("echo");
    let mut group = c.benchmark_group("echo");
    group.bench_function("instantiate+call", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    echo.run_step(&ctx, &info, "{}", INPUT).await.unwrap();
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("call only", |b| {
        b.iter_custom(|iters| {
            rt.block_on(bench::step_call_only(&echo, &ctx, INPUT, iters))
                .unwrap()
        })
    });
    group.finish();
}

fn startup(c: &mut Criterion) {
    let rt = tokio();
    let dir = std::env::temp_dir().join(format!("weft-bench-cache-{}", std::process::id()));
    let config = RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..RuntimeConfig::default()
    };
    let mut group = c.benchmark_group("load at start-up");
    group.sample_size(20);
    for name in ["echo", "text-stats"] {
        let bytes = plugin_bytes(name);
        // Fill the disk cache once.
        let warm = Runtime::new(config.clone()).unwrap();
        rt.block_on(warm.load(name, &bytes, PluginKind::Step))
            .unwrap();
        group.bench_function(format!("{name} from disk cache"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // A new runtime has an empty memory cache, as after a restart;
                    // only the load itself is timed.
                    let fresh = Runtime::new(config.clone()).unwrap();
                    let started = Instant::now();
                    rt.block_on(fresh.load(name, &bytes, PluginKind::Step))
                        .unwrap();
                    total += started.elapsed();
                }
                total
            })
        });
    }
    group.bench_function("runtime start (engine, linker, pool)", |b| {
        b.iter(|| Runtime::new(config.clone()).unwrap())
    });
    group.bench_function("echo compiled from scratch", |b| {
        let bytes = plugin_bytes("echo");
        b.iter(|| {
            let fresh = Runtime::new(RuntimeConfig::default()).unwrap();
            rt.block_on(fresh.load("echo", &bytes, PluginKind::Step))
                .unwrap()
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// Per-call latency of instantiate + call, one call at a time.
fn latency_histogram() {
    let rt = tokio();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let echo = rt
        .block_on(runtime.load("echo", &plugin_bytes("echo"), PluginKind::Step))
        .unwrap();
    let ctx = CallContext::new(CallLimits::default());
    let info = run_info("echo");
    let mut samples: Vec<Duration> = rt.block_on(async {
        for _ in 0..1_000 {
            echo.run_step(&ctx, &info, "{}", INPUT).await.unwrap();
        }
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let started = Instant::now();
            echo.run_step(&ctx, &info, "{}", INPUT).await.unwrap();
            samples.push(started.elapsed());
        }
        samples
    });
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    println!(
        "echo instantiate+call over {} calls: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().configure_from_args();
    targets = calls, startup
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs this binary with `--bench` absent: skip the
    // slow histogram there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    latency_histogram();
}
