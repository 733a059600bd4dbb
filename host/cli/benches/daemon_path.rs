//! The daemon path, end to end: a real `weft daemon --workers 0` and 1, 2 and
//! 4 real `weft worker` processes on loopback; runs of a 3-step `echo` chain
//! submitted over HTTP.
//!
//! `cargo bench -p weft-cli --bench daemon_path` prints, per worker count:
//! runs/s and steps/s for a burst of runs submitted by 8 client threads; then
//! enqueue-to-start p50/p99 (run `created_ms` → its first `step-started`, both
//! on the daemon's clock) with runs submitted at half that rate; finally the
//! idle daemon's CPU and RSS over 10 s with the workers connected and waiting.
//! `WEFT_BENCH_RUNS` (default 2,000) and `WEFT_BENCH_SLOTS` (per worker,
//! default 8) change the load.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark reports on stdout and fails loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../tests/common/daemon.rs"]
mod daemon_support;
#[path = "../tests/common/worker.rs"]
#[allow(dead_code, reason = "shared with the tests")]
mod worker_support;

use daemon_support::{Daemon, write_project};
use worker_support::Worker;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn submit(api: &ureq::Agent, url: &str, n: usize) -> String {
    let body = json!({"flow": "chain", "input": {"n": n}});
    let mut answer = api.post(format!("{url}/v1/runs")).send_json(body).unwrap();
    let sub: Value = answer.body_mut().read_json().unwrap();
    sub["run_id"].as_str().unwrap().to_owned()
}

fn get(api: &ureq::Agent, url: &str) -> Value {
    api.get(url).call().unwrap().body_mut().read_json().unwrap()
}

/// Waits for every run to succeed.
fn wait_all(api: &ureq::Agent, url: &str, runs: &[String]) {
    for run in runs {
        let got = get(api, &format!("{url}/v1/runs/{run}?wait=120"));
        assert_eq!(got["run"]["status"], "succeeded", "{got}");
    }
}

/// Submits `runs` runs from 8 threads as fast as they are answered; the
/// seconds until the last one succeeded.
fn burst(url: &str, runs: usize) -> f64 {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (url, next) = (url.to_owned(), Arc::clone(&next));
            std::thread::spawn(move || {
                let api = agent();
                let mut mine = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= runs {
                        return mine;
                    }
                    mine.push(submit(&api, &url, n));
                }
            })
        })
        .collect();
    let ids: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    wait_all(&agent(), url, &ids);
    started.elapsed().as_secs_f64()
}

/// Submits `runs` runs at `rate` per second (open loop); the enqueue-to-start
/// latencies in ms.
fn paced(url: &str, runs: usize, rate: f64) -> Vec<u64> {
    let api = agent();
    let gap = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut ids = Vec::with_capacity(runs);
    for n in 0..runs {
        let due = start + gap * u32::try_from(n).unwrap();
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        ids.push(submit(&api, url, n));
    }
    wait_all(&api, url, &ids);
    ids.iter()
        .map(|run| {
            let got = get(&api, &format!("{url}/v1/runs/{run}"));
            let created = got["run"]["created_ms"].as_u64().unwrap();
            let events = get(&api, &format!("{url}/v1/runs/{run}/events"));
            let started = events["events"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == "step-started")
                .and_then(|e| e["time_ms"].as_u64())
                .unwrap();
            started.saturating_sub(created)
        })
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// (CPU seconds used, RSS in MiB) of process `pid`.
fn cpu_and_rss(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap().split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    (ticks / 100.0, rss_kb / 1024.0)
}

fn main() {
    let runs = env_usize("WEFT_BENCH_RUNS", 2_000);
    let slots = env_usize("WEFT_BENCH_SLOTS", 8).to_string();
    println!(
        "daemon path: {runs} runs of a 3-step echo chain per measurement, {slots} slots per worker"
    );
    for workers in [1, 2, 4] {
        let dir = tempfile::tempdir().unwrap();
        write_project(dir.path());
        let daemon = Daemon::start_with_workers(dir.path(), 0);
        let url = daemon.url.clone();
        let _workers: Vec<Worker> = (0..workers)
            .map(|_| Worker::start(&url, &["--concurrency", &slots, "--lease", "30s"]))
            .collect();
        burst(&url, 50); // warm-up: components fetched and compiled
        let secs = burst(&url, runs);
        let rate = runs as f64 / secs;
        println!(
            "{workers} worker(s): {rate:.0} runs/s, {:.0} steps/s ({secs:.2} s)",
            rate * 3.0
        );
        let paced_runs = (rate * 5.0).clamp(100.0, 5_000.0) as usize;
        let mut lat = paced(&url, paced_runs, rate / 2.0);
        lat.sort_unstable();
        println!(
            "  enqueue-to-start at {:.0} runs/s: p50 {} ms, p99 {} ms ({} runs)",
            rate / 2.0,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.len()
        );
        if workers == 4 {
            let pid = daemon.pid();
            let (cpu0, _) = cpu_and_rss(pid);
            std::thread::sleep(Duration::from_secs(10));
            let (cpu1, rss) = cpu_and_rss(pid);
            println!(
                "  idle daemon (4 workers waiting): {:.2} % of one core over 10 s, RSS {rss:.0} MiB",
                (cpu1 - cpu0) * 10.0
            );
        }
        assert!(daemon.stop().success());
    }
}
