//! Semantic search benchmark, with the real model (run `scripts/setup-model.sh` first):
//!
//!   cargo bench -p weft-index --bench semantic
//!
//! Measures the embedding rate (batches of 64), then for 10k runs (real embeddings
//! of generated run summaries) and 100k runs (the 10k vectors plus small random
//! offsets: embedding 100k texts would take minutes and tells nothing more about
//! arroy) the bulk load and tree build, a 64-run incremental upsert, the size on
//! disk, and top-10 query latency (query embedding + search) with and without a
//! filter. `WEFT_BENCH_MAX_RUNS=10000` stops after the 10k stage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should fail loudly"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use weft_index::semantic::{
    Embedder, MODEL_DIR_ENV, ORT_DYLIB_ENV, SemanticDoc, SemanticFilter, SemanticIndex,
    default_onnxruntime,
};

const WHO: [&str; 8] = [
    "customer",
    "client",
    "buyer",
    "user",
    "member",
    "tenant admin",
    "shopper",
    "partner",
];
const WHAT: [&str; 16] = [
    "wants money back for",
    "cannot sign in to check",
    "has not received",
    "asks for an invoice for",
    "reports a crash when opening",
    "wants to cancel",
    "needs a password reset to see",
    "complains about the price of",
    "asks where the parcel with",
    "wants to upgrade",
    "disputes the charge for",
    "asks for a receipt for",
    "reports slow loading of",
    "wants to change the address on",
    "says the delivery is late for",
    "asks how to export",
];
const OBJ: [&str; 12] = [
    "the blender",
    "the annual plan",
    "order 4411",
    "the mobile app",
    "the team dashboard",
    "the winter jacket",
    "the premium subscription",
    "the shared workspace",
    "the replacement part",
    "the gift card",
    "the analytics report",
    "the office chairs",
];
const WHEN: [&str; 6] = [
    "since last week",
    "for the second time",
    "before the weekend",
    "after the latest update",
    "and is getting impatient",
    "politely",
];

/// A varied run summary for run `i`.
fn text(i: usize) -> String {
    format!(
        "{} {} {} {}",
        WHO[i % WHO.len()],
        WHAT[(i / 8) % WHAT.len()],
        OBJ[(i / 128) % OBJ.len()],
        WHEN[(i / 1536) % WHEN.len()]
    )
}

fn doc(i: usize) -> SemanticDoc {
    SemanticDoc {
        run_id: format!("bench-{i}"),
        text: text(i),
        flow: format!("flow-{}", i % 5),
        tenant: format!("tenant-{}", i % 10),
        status: if i.is_multiple_of(4) {
            "failed"
        } else {
            "succeeded"
        }
        .into(),
        created_ms: i as u64,
    }
}

fn embedder() -> Embedder {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = std::env::var_os(MODEL_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".weft/models/all-MiniLM-L6-v2"));
    let ort = std::env::var_os(ORT_DYLIB_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| default_onnxruntime(&model));
    Embedder::from_config(&model, &ort).expect("the model (run scripts/setup-model.sh)")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    ms(sorted[i])
}

/// A small deterministic pseudo-random generator (xorshift), for vector offsets.
struct XorShift(u64);
impl XorShift {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

const ASKS: [&str; 8] = [
    "refund request",
    "can't log in",
    "package late",
    "need a bill",
    "app keeps crashing",
    "cancel my subscription",
    "too expensive",
    "move to a new address",
];

/// Recall@10 of the unfiltered (approximate, tree) search against an exact scan
/// of every stored vector (`all[i]` is run `i`'s vector).
fn recall(index: &SemanticIndex, all: &[Vec<f32>]) {
    let cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (na * nb)
    };
    let queries = index.embedder().embed(&ASKS).unwrap();
    let mut found = 0;
    for q in &queries {
        let mut exact: Vec<(f32, usize)> = all
            .iter()
            .enumerate()
            .map(|(i, v)| (cosine(q, v), i))
            .collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        let want: Vec<String> = exact[..10]
            .iter()
            .map(|(_, i)| format!("bench-{i}"))
            .collect();
        let got = index
            .search_vector(q, &SemanticFilter::default(), 10)
            .unwrap();
        found += got.iter().filter(|h| want.contains(&h.run_id)).count();
    }
    println!(
        "  recall@10 of the unfiltered search vs an exact scan: {:.2}",
        found as f64 / (10 * queries.len()) as f64
    );
}

fn queries(index: &SemanticIndex, label: &str, filter: &SemanticFilter) {
    let asks = ASKS;
    // Warm the page cache and the model before timing.
    for q in asks {
        index.search(q, filter, 10).unwrap();
    }
    let mut total = Vec::new();
    let mut search_only = Vec::new();
    let vectors = index.embedder().embed(&asks).unwrap();
    for round in 0..25 {
        for (q, v) in asks.iter().zip(&vectors) {
            let t = Instant::now();
            let hits = index.search(q, filter, 10).unwrap();
            total.push(t.elapsed());
            assert_eq!(hits.len(), 10, "round {round}: {q}");
            let t = Instant::now();
            index.search_vector(v, filter, 10).unwrap();
            search_only.push(t.elapsed());
        }
    }
    total.sort();
    search_only.sort();
    println!(
        "  top-10 {label:<22} embed+search p50 {:6.2} ms  p99 {:6.2} ms | search only p50 {:6.2} ms  p99 {:6.2} ms  ({} queries)",
        percentile(&total, 0.5),
        percentile(&total, 0.99),
        percentile(&search_only, 0.5),
        percentile(&search_only, 0.99),
        total.len()
    );
}

fn stage(
    index: &mut SemanticIndex,
    runs: usize,
    vectors: &[Vec<f32>],
    all: &mut Vec<Vec<f32>>,
    rng: &mut XorShift,
) {
    let have = index.len().unwrap() as usize;
    let docs: Vec<SemanticDoc> = (have..runs).map(doc).collect();
    let vecs: Vec<Vec<f32>> = (have..runs)
        .map(|i| {
            let base = &vectors[i % vectors.len()];
            if i < vectors.len() {
                return base.clone();
            }
            base.iter().map(|x| x + 0.02 * rng.next_f32()).collect()
        })
        .collect();
    let t = Instant::now();
    index.upsert_vectors(&docs, &vecs).unwrap();
    let load = t.elapsed();
    println!(
        "{runs} runs: bulk load of {} (write + tree build) {:.1} s, {:.1} MB on disk",
        docs.len(),
        load.as_secs_f64(),
        index.disk_size().unwrap() as f64 / 1e6
    );

    all.extend(vecs.iter().cloned());
    recall(index, all);

    // An indexer batch: 64 runs re-embedded (replaced) and searchable on return.
    let batch: Vec<SemanticDoc> = (0..64).map(|i| doc(i * 97 % runs)).collect();
    let t = Instant::now();
    index.upsert(&batch).unwrap();
    println!(
        "  upsert of 64 runs (embed + write + incremental build): {:.0} ms",
        ms(t.elapsed())
    );
    let t = Instant::now();
    index.upsert(&[doc(runs / 3)]).unwrap();
    println!(
        "  upsert of 1 run (embed + write + incremental build): {:.0} ms",
        ms(t.elapsed())
    );

    queries(index, "no filter", &SemanticFilter::default());
    let tenant = SemanticFilter {
        tenant: Some("tenant-4".into()),
        ..Default::default()
    };
    queries(index, "tenant (10% of runs)", &tenant);
    let narrow = SemanticFilter {
        // Even tenants hold the failed runs (every 4th).
        tenant: Some("tenant-4".into()),
        status: Some("failed".into()),
        since_ms: Some(runs as u64 / 2),
        ..Default::default()
    };
    queries(index, "tenant+status+time", &narrow);
}

fn main() {
    let max_runs: usize = std::env::var("WEFT_BENCH_MAX_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let t = Instant::now();
    let embedder = embedder();
    println!("model load: {:.0} ms", ms(t.elapsed()));

    let texts: Vec<String> = (0..10_000).map(text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let t = Instant::now();
    let vectors = embedder.embed(&refs).unwrap();
    let took = t.elapsed();
    println!(
        "embedding: {} texts in batches of 64, {:.1} s, {:.0} texts/s",
        refs.len(),
        took.as_secs_f64(),
        refs.len() as f64 / took.as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let mut index = SemanticIndex::open(dir.path(), embedder).unwrap();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut all = Vec::new();
    for runs in [10_000, 100_000] {
        if runs > max_runs {
            break;
        }
        stage(&mut index, runs, &vectors, &mut all, &mut rng);
    }
}
