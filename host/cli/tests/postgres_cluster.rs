//! What holds across two real `weft daemon` processes on one real PostgreSQL
//! beyond the queue: each daemon sees the other (`GET /v1/cluster`, the line
//! it prints at start) and sees it leave; a tenant's daily budget is never
//! overspent by model calls made through both at once; a cron line fires
//! exactly once per fire time while both run, and across a crash and restart
//! of both.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "common/daemon.rs"]
mod daemon;

#[path = "common/pg_daemon.rs"]
mod pg_daemon;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_tests::plugin_path;

use daemon::{get_json, wait_for_run};
use pg_daemon::{
    PgDaemon, append_to_weft_yaml, fresh_database, next_change, post_flow, write_pg_project,
};

/// The ids of the daemons `GET /v1/cluster` of `url` lists, and its own.
fn cluster(url: &str) -> (Vec<String>, String, Value) {
    let (status, body) = get_json(&format!("{url}/v1/cluster"));
    assert_eq!(status, 200, "{body}");
    let ids = body["daemons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, body["self"].as_str().unwrap().to_owned(), body)
}

#[test]
fn each_daemon_sees_the_other_and_sees_it_leave() {
    let db_url = fresh_database("presence");
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_pg_project(&dir_a);
    write_pg_project(&dir_b);
    let a = PgDaemon::start(&dir_a, &db_url);
    assert!(
        a.store_line.ends_with("; no other daemon serves it"),
        "{}",
        a.store_line
    );
    let b = PgDaemon::start(&dir_b, &db_url);
    assert!(
        b.store_line.contains("; 1 other daemon(s) serve it: "),
        "{}",
        b.store_line
    );
    assert!(b.store_line.contains(&a.url), "{}", b.store_line);

    let (from_a, self_a, body) = cluster(&a.url);
    let (from_b, self_b, _) = cluster(&b.url);
    assert_eq!(from_a.len(), 2, "{body}");
    assert_eq!(from_a, from_b, "both daemons list the same members");
    assert_ne!(self_a, self_b);
    assert!(from_a.contains(&self_a) && from_a.contains(&self_b));
    assert!(
        body["store"]
            .as_str()
            .unwrap()
            .starts_with("postgres 127.0.0.1:")
    );
    let apis: Vec<&str> = body["daemons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["api"].as_str().unwrap())
        .collect();
    assert!(
        apis.contains(&a.url.as_str()) && apis.contains(&b.url.as_str()),
        "{body}"
    );

    // A daemon that stops withdraws at once; the other then lists only itself.
    b.stop();
    let (left, _, body) = cluster(&a.url);
    assert_eq!(left, [self_a], "{body}");
}

#[test]
fn runs_submitted_to_an_api_only_daemon_are_run_by_the_other_daemons_workers() {
    let db_url = fresh_database("apinode");
    let tmp = tempfile::tempdir().unwrap();
    let (dir_api, dir_work) = (tmp.path().join("api"), tmp.path().join("work"));
    write_pg_project(&dir_api);
    write_pg_project(&dir_work);
    let worker_node = PgDaemon::start(&dir_work, &db_url);
    let api = PgDaemon::start_with_workers(&dir_api, &db_url, 0);
    // The worker daemon hears of each run only through the database (its
    // commits watch, fed by LISTEN): nothing in its own process wakes it. An
    // idle worker's safety timer is 60 s; each run must end well before it,
    // one after another, so a missed wake-up cannot hide behind another run.
    for n in 0..5u64 {
        let started = Instant::now();
        let run = pg_daemon::post_run(&api.url, n).unwrap();
        let page = wait_for_run(&api.url, &run, |p| p["status"] == "succeeded");
        assert_eq!(page["status"], "succeeded");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "run {run} took {:?}: the worker daemon was not woken by the other daemon's commit",
            started.elapsed()
        );
    }
    // `GET /v1/runs/{id}?wait=` on the API daemon: the run ends in the other
    // process, and the wait must answer then, not when its 60 s are over.
    for n in 5..10u64 {
        let started = Instant::now();
        let run = pg_daemon::post_run(&api.url, n).unwrap();
        let (status, page) = get_json(&format!("{}/v1/runs/{run}?wait=60", api.url));
        assert_eq!(
            (status, &page["run"]["status"]),
            (200, &json!("succeeded")),
            "{page}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the wait for {run} answered after {:?}: the end in the other daemon did not reach it",
            started.elapsed()
        );
    }
    drop(worker_node);
}

/// $10 per thousand output tokens, 3 tokens a call: $0.03 a call, and a day's
/// budget of $0.30 for the tenant `default` (the runs of `--no-auth`): ten calls.
fn write_budget_project(dir: &Path) {
    write_pg_project(dir);
    for p in ["prompt", "mock-model"] {
        std::fs::copy(plugin_path(p), dir.join(format!("plugins/{p}.wasm"))).unwrap();
    }
    let yaml = std::fs::read_to_string(dir.join("weft.yaml")).unwrap();
    let yaml = yaml.replace(
        "plugins:\n",
        "plugins:\n  prompt: { path: plugins/prompt.wasm, kind: step }\n  mock-model: { path: plugins/mock-model.wasm, kind: model }\n",
    );
    // Eight at once, across both daemons: more calls in flight than the
    // budget has room for.
    let yaml = yaml.replace("pools:\n", "pools:\n  wide: { max_concurrent: 8 }\n");
    std::fs::write(dir.join("weft.yaml"), yaml).unwrap();
    append_to_weft_yaml(
        dir,
        "models:\n  mock:\n    adapter: mock-model\n    price: { input_per_million_usd: 0, output_per_million_usd: 10000 }\ntenants:\n  default:\n    budget_usd_daily: 0.30\n",
    );
    std::fs::write(
        dir.join("flows/ask.yaml"),
        "id: ask\nsteps:\n  ask:\n    uses: prompt\n    pool: wide\n    model: mock\n    with: { template: \"Say hello\", max_tokens: 3 }\n",
    )
    .unwrap();
}

fn finished(page: &Value) -> bool {
    matches!(page["status"].as_str(), Some("succeeded" | "failed"))
}

#[test]
fn a_tenant_budget_is_never_overspent_through_two_daemons() {
    let db_url = fresh_database("budget2");
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_budget_project(&dir_a);
    write_budget_project(&dir_b);
    let a = PgDaemon::start(&dir_a, &db_url);
    let b = PgDaemon::start(&dir_b, &db_url);
    // 40 runs at once through both daemons (4 workers each, 8 in pool `wide`):
    // 4 times what the budget pays for.
    let runs: Vec<(String, String)> = (0..40)
        .map(|i| {
            let url = if i % 2 == 0 { &a.url } else { &b.url };
            (url.clone(), post_flow(url, "ask", json!({})).unwrap())
        })
        .collect();
    let mut outcomes = BTreeMap::<String, usize>::new();
    for (url, run) in &runs {
        let page = wait_for_run(url, run, finished);
        *outcomes
            .entry(page["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let (status, costs) = get_json(&format!("{}/v1/costs", a.url));
    assert_eq!(status, 200, "{costs}");
    let spent = costs["total"]["micro_usd"].as_u64().unwrap();
    assert!(
        spent <= 300_000,
        "spent {spent} micro-dollars of a 300,000 budget: {costs}"
    );
    // Every call that was made was paid for, and the budget paid for exactly
    // ten: no reservation leaked, none was lost.
    assert_eq!(spent, 300_000, "{costs}");
    assert_eq!(outcomes.get("succeeded"), Some(&10), "{outcomes:?}");
    assert_eq!(outcomes.get("failed"), Some(&30), "{outcomes:?}");
    let (_, failed) = get_json(&format!("{}/v1/runs/{}", b.url, failed_run(&runs)));
    let error = failed["run"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("budget exceeded: tenant default"),
        "{failed}"
    );
}

/// A run of `runs` that failed (there are some).
fn failed_run(runs: &[(String, String)]) -> String {
    runs.iter()
        .find(|(url, run)| get_json(&format!("{url}/v1/runs/{run}")).1["run"]["status"] == "failed")
        .map(|(_, run)| run.clone())
        .unwrap()
}

/// Adds the flow `tick`: one echo step, fired every second.
fn write_cron_project(dir: &Path) {
    write_pg_project(dir);
    std::fs::write(
        dir.join("flows/tick.yaml"),
        "id: tick\nsteps:\n  a: { uses: echo }\nschedule:\n  - cron: \"* * * * * *\"\n",
    )
    .unwrap();
}

/// How many times `tick` has fired, by `GET /v1/schedules` of `url`.
fn tick_fires(url: &str) -> u64 {
    let (status, body) = get_json(&format!("{url}/v1/schedules"));
    assert_eq!(status, 200, "{body}");
    body["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["flow"] == "tick")
        .map_or(0, |s| s["fires"].as_u64().unwrap())
}

/// Waits (following the store's changes, at most a minute) until `tick`
/// has fired at least `n` times.
fn await_fires(url: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut head = 0;
    while tick_fires(url) < n {
        assert!(
            Instant::now() < deadline,
            "tick fired {} of {n} times",
            tick_fires(url)
        );
        head = next_change(url, head, 2);
    }
}

/// The fire time of every run of `tick` (from its `run-created` event),
/// with how many runs each has.
fn fire_times(url: &str) -> BTreeMap<u64, usize> {
    let (status, page) = get_json(&format!("{url}/v1/runs?flow=tick&limit=1000"));
    assert_eq!(status, 200, "{page}");
    let mut fires = BTreeMap::new();
    for run in page["runs"].as_array().unwrap() {
        let id = run["id"].as_str().unwrap();
        let (_, events) = get_json(&format!("{url}/v1/runs/{id}/events?after=0"));
        let created = &events["events"][0];
        assert_eq!(created["type"], "run-created", "{events}");
        let fire = created["payload"]["origin"]["fire_ms"].as_u64().unwrap();
        *fires.entry(fire).or_default() += 1;
    }
    fires
}

#[test]
fn cron_fires_once_per_fire_time_across_a_crash_and_restart_of_both_daemons() {
    let db_url = fresh_database("cron2");
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_cron_project(&dir_a);
    write_cron_project(&dir_b);
    let a = PgDaemon::start(&dir_a, &db_url);
    let b = PgDaemon::start(&dir_b, &db_url);
    await_fires(&a.url, 3);
    // Both die at once (SIGKILL), and both come back well within the 60 s
    // grace: the fires they slept through are on time and fire once.
    a.kill();
    b.kill();
    let a = PgDaemon::start(&dir_a, &db_url);
    let b = PgDaemon::start(&dir_b, &db_url);
    let before = tick_fires(&b.url);
    await_fires(&b.url, before + 3);
    a.stop();
    b.stop();

    let reader = PgDaemon::start(&dir_a, &db_url);
    let fires = fire_times(&reader.url);
    let doubled: Vec<_> = fires.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "fire times with more than one run: {doubled:?}"
    );
    // Every second from the first fire to the last fired: none was lost
    // across the crash either.
    let first = *fires.keys().next().unwrap();
    let last = *fires.keys().last().unwrap();
    assert_eq!(first % 1_000, 0);
    let expected: Vec<u64> = (first..=last).step_by(1_000).collect();
    assert_eq!(fires.keys().copied().collect::<Vec<_>>(), expected);
    assert!(fires.len() >= 6, "{fires:?}");
}
