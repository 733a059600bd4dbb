//! The keyword index at scale: index N generated runs (default 100,000; set
//! `WEFT_BENCH_RUNS`), each with one step outcome, in commits of 10,000 runs;
//! report the indexing rate, the size on disk, and p50/p99 latency of a mix of
//! keyword queries (each returning up to 20 hits with snippets). Then the
//! whole path: `WEFT_BENCH_STORE_RUNS` (default 20,000) runs submitted to a real
//! redb store, and the time `SearchIndex::catch_up` takes to read them from
//! the change feed and the store and index them.
//!
//! `cargo bench -p weft-index --bench keyword`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should fail loudly"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft_store_api::SharedStore;
use weft_store_redb::RedbStore;

use serde_json::json;
use weft_index::{Filters, IndexOptions, KeywordIndex, RunDoc, SearchIndex, Sort, StepDoc};
use weft_store_api::{NewRun, NewTask};

const T0: u64 = 1_795_305_600_000;
const FLOWS: [&str; 5] = ["billing", "shipping", "refunds", "onboarding", "reports"];
const WORDS: [&str; 24] = [
    "invoice",
    "payment",
    "customer",
    "order",
    "parcel",
    "refund",
    "account",
    "report",
    "summary",
    "weekly",
    "monthly",
    "priority",
    "europe",
    "asia",
    "warehouse",
    "label",
    "carrier",
    "tax",
    "discount",
    "coupon",
    "renewal",
    "trial",
    "upgrade",
    "export",
];
const ERRORS: [&str; 4] = [
    "timeout talking to the bank",
    "card declined by issuer",
    "carrier api returned 503",
    "validation failed: missing address",
];

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
    fn sentence(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| self.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn doc(i: u64, rng: &mut Rng) -> RunDoc {
    let failed = rng.next().is_multiple_of(10);
    let error = if failed {
        rng.pick(&ERRORS).to_owned()
    } else {
        String::new()
    };
    let output = if failed {
        String::new()
    } else {
        format!("result {} id{i}", rng.sentence(8))
    };
    let summary = if failed {
        String::new()
    } else {
        format!("{} for cust{}", rng.sentence(5), i % 5000)
    };
    RunDoc {
        run_id: format!("acme-2026-11-22-{i:07}-abc"),
        flow: FLOWS[(i % 5) as usize].into(),
        tenant: ["acme", "globex", "initech"][(i % 3) as usize].into(),
        status: if failed { "failed" } else { "succeeded" }.into(),
        created_ms: T0 + i * 1000,
        updated_ms: T0 + i * 1000 + 500,
        finished_ms: Some(T0 + i * 1000 + 500),
        input: format!("customer cust{} note {}", i % 5000, rng.sentence(12)),
        output: output.clone(),
        errors: error.clone(),
        summary: summary.clone(),
        steps: vec![StepDoc {
            step_id: "work".into(),
            status: if failed { "failed" } else { "done" }.into(),
            attempt: 1,
            error,
            output,
            summary,
        }],
    }
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                dir_size(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let runs: u64 = std::env::var("WEFT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let threads: usize = std::env::var("WEFT_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let tmp = tempfile::tempdir().unwrap();
    let index = KeywordIndex::open_with(tmp.path(), threads).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let batch = 10_000;
    let mut i = 0;
    while i < runs {
        let docs: Vec<RunDoc> = (i..(i + batch).min(runs))
            .map(|n| doc(n, &mut rng))
            .collect();
        i += docs.len() as u64;
        index.apply(&docs, &[], i).unwrap();
    }
    let took = started.elapsed();
    println!(
        "indexed {runs} runs ({} documents) in {:.1} s: {:.0} runs/s, {threads} indexing thread(s)",
        index.doc_count(),
        took.as_secs_f64(),
        runs as f64 / took.as_secs_f64()
    );
    println!(
        "index size on disk: {:.1} MB",
        dir_size(tmp.path()) as f64 / 1e6
    );

    let now = T0 + runs * 1000;
    let queries: Vec<(&str, Filters, Sort)> = vec![
        ("invoice", Filters::default(), Sort::Score),
        (
            "flow:billing status:failed error:timeout",
            Filters::default(),
            Sort::Score,
        ),
        ("\"card declined\"", Filters::default(), Sort::Score),
        ("cust1234", Filters::default(), Sort::Score),
        ("warehouse label carrier", Filters::default(), Sort::Score),
        ("status:failed", Filters::default(), Sort::Time),
        (
            "payment -status:failed",
            Filters {
                tenant: Some("acme".into()),
                ..Filters::default()
            },
            Sort::Score,
        ),
        ("since:1h refund", Filters::default(), Sort::Time),
    ];
    // Warm up, then measure.
    for (q, f, s) in &queries {
        index.search(q, f, *s, 20, now).unwrap();
    }
    let rounds = 100;
    let mut all = Vec::new();
    for (q, f, s) in &queries {
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            hits = index.search(q, f, *s, 20, now).unwrap().len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "  {q:45} {hits:2} hits  p50 {:>7.3} ms  p99 {:>7.3} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "query mix ({} queries): p50 {:.3} ms, p99 {:.3} ms",
        all.len(),
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3
    );
    drop(index);
    from_store(
        std::env::var("WEFT_BENCH_STORE_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000),
    );
}

/// Catch-up from a real store: submit `runs` runs (concurrently, so that the
/// store's group commit batches them), then time one `catch_up`.
fn from_store(runs: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(async {
        let store: SharedStore = Arc::new(RedbStore::open(tmp.path().join("weft.redb")).unwrap());
        let mut set = tokio::task::JoinSet::new();
        for i in 0..runs {
            let store = store.clone();
            set.spawn(async move {
                let run = NewRun {
                    flow_id: FLOWS[(i % 5) as usize].into(),
                    flow_version: "1".into(),
                    tenant: ["acme", "globex", "initech"][(i % 3) as usize].into(),
                    input: json!({"customer": format!("cust{}", i % 5000), "note": "please handle with care"}),
                    priority: 0,
                    idempotency_key: None,
                    id_prefix: "acme".into(),
                    not_before: None,
                    initial_tasks: vec![NewTask {
                        step_id: "work".into(),
                        pool: "work".into(),
                        priority: 0,
                    }],
                };
                store.submit_run(run, T0 + i * 1000).await.unwrap();
            });
            if set.len() >= 256 {
                set.join_next().await.unwrap().unwrap();
            }
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        store
    });
    let index = SearchIndex::open(
        &tmp.path().join("index"),
        store.clone(),
        IndexOptions::default(),
    )
    .unwrap();
    let started = Instant::now();
    let done = rt.block_on(index.catch_up()).unwrap();
    let took = started.elapsed();
    println!(
        "catch-up from the store: {} runs ({} changes) in {:.1} s: {:.0} runs/s",
        done.runs,
        done.changes,
        took.as_secs_f64(),
        done.runs as f64 / took.as_secs_f64()
    );
    drop(index);
    rt.block_on(store.close());
}
