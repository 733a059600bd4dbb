//! Two real `weft daemon` processes on one real PostgreSQL (started by the
//! test, `weft-pg-harness`): any daemon takes submissions and hands out tasks,
//! a pool's `max_concurrent` holds across both (sampled while they run), every
//! run succeeds once, and when one daemon is killed mid-load the other
//! finishes every run either of them acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "common/daemon.rs"]
mod daemon;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use weft_pg_harness::{PgServer, unique_name};
use weft_tests::component_cache_dir;

use daemon::{get_json, wait_for_run, write_project};

/// The variable the test projects read their database URL from.
const URL_ENV: &str = "WEFT_TEST_DATABASE_URL";

/// A project whose store is the database at `$URL_ENV` and whose steps all
/// run in pool `p3` (at most 3 at once).
fn write_pg_project(dir: &Path) {
    write_project(dir);
    let yaml = dir.join("weft.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    text.push_str(&format!(
        "store:\n  backend: postgres\n  url_env: {URL_ENV}\n  pool_size: 4\npools:\n  p3: {{ max_concurrent: 3 }}\ndefaults:\n  pool: p3\n"
    ));
    std::fs::write(yaml, text).unwrap();
}

/// A daemon on the database `url`, with 4 in-process workers.
struct PgDaemon {
    child: Child,
    url: String,
}

impl PgDaemon {
    fn start(dir: &Path, db_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args([
                "daemon",
                "--listen",
                "127.0.0.1:0",
                "--no-auth",
                "--workers",
                "4",
            ])
            .env(URL_ENV, db_url)
            .env("WEFT_COMPONENT_CACHE", component_cache_dir())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut err = String::new();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // The daemon names its store on stderr before it listens.
        while !err.contains("weft daemon: store") {
            let mut l = String::new();
            if stderr.read_line(&mut l).unwrap() == 0 {
                break;
            }
            err.push_str(&l);
        }
        // Keep reading, so the daemon never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        assert!(err.contains("store postgres 127.0.0.1:"), "{err}");
        assert!(!err.contains("postgres://"), "the URL is shown: {err}");
        let url = line
            .trim()
            .strip_prefix("weft daemon listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; stderr: {err}"))
            .to_owned();
        Self { child, url }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for PgDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Submits a run of `chain`; its id once the daemon acknowledged it.
fn post_run(url: &str, n: u64) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent
        .post(&format!("{url}/v1/runs"))
        .send_json(json!({"flow": "chain", "input": {"n": n}}))
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let body: Value = answer.body_mut().read_json().map_err(|e| e.to_string())?;
    match body["run_id"].as_str() {
        Some(id) if status.is_success() => Ok(id.to_owned()),
        _ => Err(format!("{status}: {body}")),
    }
}

/// The most tasks pool `p3` ran at once in any answer of `GET /v1/pools`
/// from `urls` until `stop` is set (each answer is read from the database).
fn sample_p3(urls: Vec<String>, stop: Arc<AtomicBool>, most: Arc<AtomicU64>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    while !stop.load(Ordering::Relaxed) {
        for url in &urls {
            let Ok(mut answer) = agent.get(&format!("{url}/v1/pools")).call() else {
                continue;
            };
            let Ok(body) = answer.body_mut().read_json::<Value>() else {
                continue;
            };
            for pool in body["pools"].as_array().into_iter().flatten() {
                if pool["name"] == "p3" {
                    let active = pool["active"].as_u64().unwrap_or(0);
                    most.fetch_max(active, Ordering::Relaxed);
                }
            }
        }
    }
}

fn succeeded(page: &Value) -> bool {
    page["status"] == "succeeded"
}

/// The steps of `run` whose success its ledger records, sorted (a step
/// recorded twice shows twice).
fn succeeded_steps(url: &str, run: &str) -> Vec<String> {
    let (status, page) = get_json(&format!("{url}/v1/runs/{run}/events?after=0"));
    assert_eq!(status, 200, "{page}");
    let mut steps: Vec<String> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "step-succeeded")
        .map(|e| e["payload"]["step"].as_str().unwrap_or_default().to_owned())
        .collect();
    steps.sort();
    steps
}

#[test]
fn two_daemons_share_one_database_and_one_pool_cap() {
    let server = PgServer::shared().expect("PostgreSQL for the test");
    let db = unique_name("twodaemons");
    server.create_database(&db).unwrap();
    let db_url = server.url_for(&db);
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_pg_project(&dir_a);
    write_pg_project(&dir_b);
    let a = PgDaemon::start(&dir_a, &db_url);
    let b = PgDaemon::start(&dir_b, &db_url);

    let stop = Arc::new(AtomicBool::new(false));
    let most = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (urls, stop, most) = (
            vec![a.url.clone(), b.url.clone()],
            stop.clone(),
            most.clone(),
        );
        std::thread::spawn(move || sample_p3(urls, stop, most))
    };
    let runs = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..4u64)
        .map(|c| {
            let (urls, runs) = ([a.url.clone(), b.url.clone()], runs.clone());
            std::thread::spawn(move || {
                for i in 0..40u64 {
                    let url = &urls[usize::from((c + i) % 2 == 0)];
                    let id = post_run(url, c * 1000 + i).unwrap();
                    runs.lock().unwrap().push(id);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 160);
    for (i, run) in runs.iter().enumerate() {
        // Either daemon answers for any run.
        let url = if i % 2 == 0 { &a.url } else { &b.url };
        wait_for_run(url, run, succeeded);
    }
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = most.load(Ordering::Relaxed);
    assert!(peak <= 3, "pool p3 ran {peak} tasks at once");
    assert!(peak >= 1, "the sampler never saw a running task");
    for run in &runs {
        let steps = succeeded_steps(&a.url, run);
        assert_eq!(steps, ["a", "b", "c"], "run {run}");
    }
    let distinct: BTreeSet<_> = runs.iter().collect();
    assert_eq!(distinct.len(), runs.len());
}

#[test]
fn when_one_daemon_dies_the_other_finishes_every_acknowledged_run() {
    let server = PgServer::shared().expect("PostgreSQL for the test");
    let db = unique_name("onedies");
    server.create_database(&db).unwrap();
    let db_url = server.url_for(&db);
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_pg_project(&dir_a);
    write_pg_project(&dir_b);
    let a = PgDaemon::start(&dir_a, &db_url);
    let b = PgDaemon::start(&dir_b, &db_url);
    let mut acknowledged = Vec::new();
    for i in 0..60u64 {
        let url = if i % 2 == 0 { &a.url } else { &b.url };
        acknowledged.push(post_run(url, i).unwrap());
    }
    // Kill b while its workers hold leases and its share of the runs waits.
    b.kill();
    for run in &acknowledged {
        let page = wait_for_run(&a.url, run, succeeded);
        assert!(succeeded(&page), "{page}");
    }
    for run in &acknowledged {
        let steps = succeeded_steps(&a.url, run);
        assert_eq!(steps, ["a", "b", "c"], "run {run}");
    }
}

#[test]
fn store_migrate_brings_a_fresh_database_to_the_current_schema() {
    let server = PgServer::shared().expect("PostgreSQL for the test");
    let db = unique_name("migrate");
    server.create_database(&db).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_pg_project(tmp.path());
    let migrate = |url: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_weft"));
        cmd.args(["store", "migrate"]).current_dir(tmp.path());
        match url {
            Some(url) => cmd.env(URL_ENV, url),
            None => cmd.env_remove(URL_ENV),
        };
        cmd.output().unwrap()
    };
    let url = server
        .url_for(&db)
        .replace("postgres@", "postgres:hunter2@");
    for _ in 0..2 {
        let out = migrate(Some(&url));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains(
                "schema at migration 3, current (0001_init, 0002_counters, 0003_ledger_signatures)"
            ),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
    let out = migrate(None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("${URL_ENV} is not set")), "{err}");
}

/// `GET /readyz`: its status and the body's `ready`.
fn readyz(url: &str) -> (u16, bool) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent.get(&format!("{url}/readyz")).call().unwrap();
    let body: Value = answer.body_mut().read_json().unwrap();
    (answer.status().as_u16(), body["ready"] == json!(true))
}

#[test]
fn a_database_crash_mid_load_loses_no_acknowledged_run() {
    let mut server = PgServer::start().expect("PostgreSQL for the test");
    let db = unique_name("pgcrash");
    server.create_database(&db).unwrap();
    let db_url = server.url_for(&db);
    let tmp = tempfile::tempdir().unwrap();
    write_pg_project(tmp.path());
    let daemon = PgDaemon::start(tmp.path(), &db_url);
    let mut acknowledged: Vec<String> = (0..40u64)
        .map(|i| post_run(&daemon.url, i).unwrap())
        .collect();
    assert_eq!(readyz(&daemon.url), (200, true));
    // Runs are queued and in flight: the database goes down hard, the daemon
    // says it is not ready while it is down, and the database comes back.
    server.crash();
    let (status, ready) = readyz(&daemon.url);
    assert_eq!(
        (status, ready),
        (503, false),
        "/readyz with the database down"
    );
    server.restart().unwrap();
    let mut refusals = Vec::new();
    while acknowledged.len() < 60 {
        match post_run(&daemon.url, acknowledged.len() as u64) {
            Ok(id) => acknowledged.push(id),
            Err(why) => {
                assert!(!why.contains("postgres://"), "{why}");
                refusals.push(why);
                assert!(
                    refusals.len() < 10_000,
                    "the daemon never came back: {refusals:?}"
                );
            }
        }
    }
    for why in &refusals {
        assert!(why.starts_with("503"), "a refusal that is not 503: {why}");
    }
    for run in &acknowledged {
        wait_for_run(&daemon.url, run, succeeded);
        assert_eq!(
            succeeded_steps(&daemon.url, run),
            ["a", "b", "c"],
            "run {run}"
        );
    }
}
