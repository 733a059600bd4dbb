//! Two real `weft daemon` processes on one real PostgreSQL (started by the
//! test, `weft-pg-harness`): any daemon takes submissions and hands out tasks,
//! a pool's `max_concurrent` holds across both (sampled while they run), every
//! run succeeds once, and when one daemon is killed mid-load the other
//! finishes every run either of them acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "common/daemon.rs"]
mod daemon;

#[path = "common/pg_daemon.rs"]
mod pg_daemon;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use weft_pg_harness::{PgServer, unique_name};

use daemon::{get_json, wait_for_run};
use pg_daemon::{PgDaemon, URL_ENV, fresh_database, post_run, write_pg_project};

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
    let db_url = fresh_database("twodaemons");
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
                for i in 0..250u64 {
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
    assert_eq!(runs.len(), 1_000);
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
    let db_url = fresh_database("onedies");
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
                "schema at migration 5, current (0001_init, 0002_counters, 0003_ledger_signatures, 0004_change_publication, 0005_pool_slots)"
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
