//! `weft bench`: the standard workloads on the path users run — a real
//! `weft daemon` (started here, or `--daemon URL`), HTTP clients, the default
//! pool's policy component and the search index — printed as a table (or
//! JSON): sequential latency, a burst's throughput with the daemon's CPU per
//! run and the store's operations per commit, backlog drain rates by depth,
//! the burst after history and with `weft worker` processes, and the idle
//! daemon's CPU and RSS.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use super::bench_daemon::{
    BenchDaemon, BenchWorkers, CHAIN, ONE, Scratch, cpu_and_rss, local_postgres_cpu, rss_parts,
    write_project,
};
use super::bench_load::{self, Client, WriterDelta, percentile};
use crate::cli_bench::BenchArgs;

/// Runs in the warm-up (components compiled, caches filled).
const WARM_UP: usize = 20;
/// The longest a backlog may take to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(1_800);

/// Latency of runs one at a time.
#[derive(Debug, Serialize)]
struct Latency {
    runs: usize,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
}

/// A burst's figures.
#[derive(Debug, Serialize)]
struct Burst {
    runs: usize,
    clients: usize,
    seconds: f64,
    runs_per_s: f64,
    steps_per_s: f64,
    /// Daemon CPU per run (`None` for a daemon the bench did not start).
    daemon_cpu_ms_per_run: Option<f64>,
    /// CPU per run of this machine's `postgres` processes, with `--postgres`
    /// and a server on this machine (`None` otherwise).
    postgres_cpu_ms_per_run: Option<f64>,
    store: WriterDelta,
    ops_per_commit: f64,
}

/// One backlog's drain.
#[derive(Debug, Serialize)]
struct Drain {
    depth: usize,
    tasks_per_s: f64,
}

/// The idle daemon.
#[derive(Debug, Serialize)]
struct Idle {
    cpu_percent: f64,
    rss_mib: f64,
    /// Of which anonymous memory (heap, stacks).
    rss_anon_mib: f64,
    /// Of which mapped files (the search index, the binary): page cache.
    rss_file_mib: f64,
}

/// Everything one `weft bench` measured.
#[derive(Debug, Serialize)]
struct Report {
    daemon: String,
    workers: usize,
    policy: String,
    index: bool,
    sequential: Latency,
    burst: Burst,
    burst_after_history: Option<(usize, Burst)>,
    drains: Vec<Drain>,
    remote: Option<(usize, Burst)>,
    /// The burst on `--daemons` daemons sharing one PostgreSQL schema.
    cluster: Option<(usize, Burst)>,
    idle: Option<Idle>,
    /// The idle daemon again after `--settle` seconds of quiet.
    idle_settled: Option<(u64, Idle)>,
}

/// `weft bench`.
pub(crate) async fn run(mut args: BenchArgs) -> Result<ExitCode> {
    if args.daemons > 1 && (!args.postgres || args.daemon.is_some()) {
        anyhow::bail!(
            "--daemons {} needs --postgres and daemons the bench starts itself: daemons share a store only on PostgreSQL",
            args.daemons
        );
    }
    if args.quick {
        args.runs = args.runs.min(300);
        args.sequential = args.sequential.min(50);
        args.depths.retain(|d| *d <= 1_000);
    }
    tokio::task::spawn_blocking(move || measure(&args))
        .await
        .context("the bench stopped")?
}

fn measure(args: &BenchArgs) -> Result<ExitCode> {
    let report = match &args.daemon {
        Some(url) => against(args, url)?,
        None => own_daemon(args)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    if let Some(min) = args.min_ops_per_commit
        && report.burst.ops_per_commit < min
    {
        eprintln!(
            "weft bench: {:.2} store operations per commit under concurrent load, below --min-ops-per-commit {min}: commits are no longer batched (something serialises them)",
            report.burst.ops_per_commit
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Measures a daemon someone else runs: latency and bursts only.
fn against(args: &BenchArgs, url: &str) -> Result<Report> {
    let client = Client::new(url, args.token.clone());
    bench_load::burst(&client, CHAIN, WARM_UP, args.clients)?;
    let sequential = latency(&client, args.sequential)?;
    let burst = measured_burst(&client, None, args.runs, args.clients, args.postgres)?;
    let burst_after_history = history(&client, None, args)?;
    Ok(Report {
        daemon: url.to_owned(),
        workers: args.workers,
        policy: args.policy.clone(),
        index: !args.no_index,
        sequential,
        burst,
        burst_after_history,
        drains: Vec::new(),
        remote: None,
        cluster: None,
        idle: None,
        idle_settled: None,
    })
}

/// The `store:` of a bench project for `phase` (`None`: the embedded store).
fn store(args: &BenchArgs, phase: &str) -> Option<String> {
    args.postgres
        .then(|| super::bench_daemon::postgres_store(phase))
}

/// Starts daemons of its own and measures everything.
fn own_daemon(args: &BenchArgs) -> Result<Report> {
    let scratch = Scratch::new()?;
    let slots = args
        .workers
        .max(args.remote_workers * args.remote_slots)
        .max(1);
    let main = scratch.0.join("main");
    write_project(&main, &args.policy, slots, store(args, "main").as_deref())?;
    let daemon = BenchDaemon::start(&main, args.workers, args.no_index)?;
    let client = Client::new(&daemon.url, None);
    bench_load::burst(&client, CHAIN, WARM_UP, args.clients)?;
    let sequential = latency(&client, args.sequential)?;
    let burst = measured_burst(
        &client,
        Some(daemon.pid()),
        args.runs,
        args.clients,
        args.postgres,
    )?;
    let burst_after_history = history(&client, Some(daemon.pid()), args)?;
    let idle_seconds = if args.quick { 2 } else { 10 };
    let idle = idle(daemon.pid(), idle_seconds)?;
    let idle_settled = if args.settle > 0 {
        std::thread::sleep(Duration::from_secs(args.settle));
        Some((args.settle, self::idle(daemon.pid(), idle_seconds)?))
    } else {
        None
    };
    daemon.stop()?;

    let mut drains = Vec::new();
    for &depth in &args.depths {
        let dir = scratch.0.join(format!("drain-{depth}"));
        let phase = format!("drain{depth}");
        write_project(&dir, &args.policy, slots, store(args, &phase).as_deref())?;
        let filler = BenchDaemon::start(&dir, 0, args.no_index)?;
        bench_load::fill(&Client::new(&filler.url, None), ONE, depth, args.clients)?;
        filler.stop()?;
        let drainer = BenchDaemon::start(&dir, args.workers, args.no_index)?;
        let rate = bench_load::drain_rate(&Client::new(&drainer.url, None), depth, DRAIN_LIMIT)?;
        drainer.stop()?;
        drains.push(Drain {
            depth,
            tasks_per_s: rate,
        });
    }

    let remote = if args.remote_workers > 0 {
        let dir = scratch.0.join("remote");
        write_project(&dir, &args.policy, slots, store(args, "remote").as_deref())?;
        let daemon = BenchDaemon::start(&dir, 0, args.no_index)?;
        let _workers = BenchWorkers::start(
            &daemon.url,
            args.remote_workers,
            args.remote_slots,
            &dir.join("workers.log"),
        )?;
        let client = Client::new(&daemon.url, None);
        bench_load::burst(&client, CHAIN, WARM_UP, args.clients)?;
        let burst = measured_burst(
            &client,
            Some(daemon.pid()),
            args.runs,
            args.clients,
            args.postgres,
        )?;
        daemon.stop()?;
        Some((args.remote_workers, burst))
    } else {
        None
    };
    let cluster = if args.daemons > 1 {
        Some((args.daemons, cluster_burst(args, &scratch, slots)?))
    } else {
        None
    };
    Ok(Report {
        daemon: if args.postgres {
            "started by the bench, store PostgreSQL ($WEFT_DATABASE_URL)".into()
        } else {
            "started by the bench".into()
        },
        workers: args.workers,
        policy: args.policy.clone(),
        index: !args.no_index,
        sequential,
        burst,
        burst_after_history,
        drains,
        remote,
        cluster,
        idle: Some(idle),
        idle_settled,
    })
}

/// The burst on `args.daemons` daemons of one PostgreSQL schema, each with
/// `args.workers` workers and a project folder (and search index) of its
/// own, the pool's cap `slots` per daemon; CPU and store figures summed over
/// the daemons.
fn cluster_burst(args: &BenchArgs, scratch: &Scratch, slots: usize) -> Result<Burst> {
    if !args.postgres {
        anyhow::bail!(
            "--daemons {} needs --postgres: daemons share a store only on PostgreSQL",
            args.daemons
        );
    }
    let store = super::bench_daemon::postgres_store("cluster");
    let mut daemons = Vec::new();
    for k in 0..args.daemons {
        let dir = scratch.0.join(format!("cluster-{k}"));
        // The pool's cap grows with the daemons, so that each can use its workers.
        write_project(&dir, &args.policy, slots * args.daemons, Some(&store))?;
        daemons.push(BenchDaemon::start(&dir, args.workers, args.no_index)?);
    }
    let clients: Vec<Client> = daemons.iter().map(|d| Client::new(&d.url, None)).collect();
    bench_load::burst_over(&clients, CHAIN, WARM_UP, args.clients)?;
    let before = clients
        .iter()
        .map(Client::metrics)
        .collect::<Result<Vec<_>>>()?;
    let cpu_before: f64 = daemons
        .iter()
        .map(|d| cpu_and_rss(d.pid()).map(|c| c.0))
        .sum::<Result<f64>>()?;
    let pg_before = local_postgres_cpu();
    let seconds = bench_load::burst_over(&clients, CHAIN, args.runs, args.clients)?;
    let pg_after = local_postgres_cpu();
    let cpu_after: f64 = daemons
        .iter()
        .map(|d| cpu_and_rss(d.pid()).map(|c| c.0))
        .sum::<Result<f64>>()?;
    let after = clients
        .iter()
        .map(Client::metrics)
        .collect::<Result<Vec<_>>>()?;
    let deltas: Vec<WriterDelta> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| WriterDelta::between(b, a))
        .collect();
    let store = WriterDelta::sum(&deltas);
    for daemon in daemons {
        daemon.stop()?;
    }
    let runs_per_s = args.runs as f64 / seconds;
    Ok(Burst {
        runs: args.runs,
        clients: args.clients,
        seconds,
        runs_per_s,
        steps_per_s: runs_per_s * 3.0,
        daemon_cpu_ms_per_run: Some((cpu_after - cpu_before) * 1000.0 / args.runs as f64),
        postgres_cpu_ms_per_run: pg_before
            .zip(pg_after)
            .map(|(a, b)| (b - a) * 1000.0 / args.runs as f64),
        ops_per_commit: store.ops_per_commit(),
        store,
    })
}

fn latency(client: &Client, runs: usize) -> Result<Latency> {
    let mut lat = bench_load::sequential(client, CHAIN, runs)?;
    lat.sort_by(f64::total_cmp);
    Ok(Latency {
        runs,
        p50_ms: percentile(&lat, 0.50),
        p95_ms: percentile(&lat, 0.95),
        p99_ms: percentile(&lat, 0.99),
    })
}

fn measured_burst(
    client: &Client,
    pid: Option<u32>,
    runs: usize,
    clients: usize,
    postgres: bool,
) -> Result<Burst> {
    let before = client.metrics()?;
    let cpu_before = pid.map(cpu_and_rss).transpose()?;
    let pg_before = postgres.then(local_postgres_cpu).flatten();
    let seconds = bench_load::burst(client, CHAIN, runs, clients)?;
    let pg_after = postgres.then(local_postgres_cpu).flatten();
    let cpu_after = pid.map(cpu_and_rss).transpose()?;
    let store = WriterDelta::between(&before, &client.metrics()?);
    let runs_per_s = runs as f64 / seconds;
    Ok(Burst {
        runs,
        clients,
        seconds,
        runs_per_s,
        steps_per_s: runs_per_s * 3.0,
        daemon_cpu_ms_per_run: cpu_before
            .zip(cpu_after)
            .map(|((a, _), (b, _))| (b - a) * 1000.0 / runs as f64),
        postgres_cpu_ms_per_run: pg_before
            .zip(pg_after)
            .map(|(a, b)| (b - a) * 1000.0 / runs as f64),
        ops_per_commit: store.ops_per_commit(),
        store,
    })
}

/// `args.history` runs, then the burst again.
fn history(client: &Client, pid: Option<u32>, args: &BenchArgs) -> Result<Option<(usize, Burst)>> {
    if args.history == 0 {
        return Ok(None);
    }
    bench_load::burst(client, CHAIN, args.history, args.clients)?;
    Ok(Some((
        args.history,
        measured_burst(client, pid, args.runs, args.clients, args.postgres)?,
    )))
}

fn idle(pid: u32, seconds: u64) -> Result<Idle> {
    let (a, _) = cpu_and_rss(pid)?;
    std::thread::sleep(Duration::from_secs(seconds));
    let (b, rss_mib) = cpu_and_rss(pid)?;
    let (rss_anon_mib, rss_file_mib) = rss_parts(pid)?;
    Ok(Idle {
        cpu_percent: (b - a) * 100.0 / seconds as f64,
        rss_mib,
        rss_anon_mib,
        rss_file_mib,
    })
}

fn print_idle(label: &str, i: &Idle) {
    println!(
        "{label}: {:.2} % of a core, RSS {:.0} MiB ({:.0} anonymous, {:.0} mapped files)",
        i.cpu_percent, i.rss_mib, i.rss_anon_mib, i.rss_file_mib
    );
}

fn print_burst(label: &str, b: &Burst) {
    let cpu = b
        .daemon_cpu_ms_per_run
        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}"));
    let postgres = b
        .postgres_cpu_ms_per_run
        .map_or_else(String::new, |ms| format!(", postgres {ms:.2} cpu ms/run"));
    println!(
        "{label:<28} {:>8.0} {:>9.0} {:>10} {:>8} {:>8.2}   ({} runs, {} clients, {:.1} s{postgres})",
        b.runs_per_s,
        b.steps_per_s,
        cpu,
        b.store.commits,
        b.ops_per_commit,
        b.runs,
        b.clients,
        b.seconds
    );
}

fn print_table(r: &Report) {
    println!(
        "weft bench: {}, {} in-process workers, pool policy {}, search index {}",
        r.daemon,
        r.workers,
        r.policy,
        if r.index { "on" } else { "off" }
    );
    println!();
    println!(
        "{:<28} {:>8} {:>9} {:>10} {:>8} {:>8}",
        "workload (3-step chain)", "runs/s", "steps/s", "cpu ms/run", "commits", "ops/commit"
    );
    print_burst("burst", &r.burst);
    if let Some((h, b)) = &r.burst_after_history {
        print_burst(&format!("burst after {h} runs"), b);
    }
    if let Some((k, b)) = &r.remote {
        print_burst(&format!("burst, {k} weft worker(s)"), b);
    }
    if let Some((n, b)) = &r.cluster {
        print_burst(&format!("burst, {n} daemons"), b);
    }
    println!();
    let s = &r.sequential;
    println!(
        "one run at a time ({} runs): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        s.runs, s.p50_ms, s.p95_ms, s.p99_ms
    );
    for d in &r.drains {
        println!(
            "backlog of {:>6} one-step runs drains at {:.0} tasks/s",
            d.depth, d.tasks_per_s
        );
    }
    if let Some(i) = &r.idle {
        print_idle("idle daemon", i);
    }
    if let Some((seconds, i)) = &r.idle_settled {
        print_idle(&format!("idle daemon after {seconds} s more"), i);
    }
}
