//! `weft worker` processes against a real `weft daemon` on loopback: two of
//! them finish 200 runs, each step once; a worker killed mid-step loses
//! nothing (its task comes back when the lease expires, and its late result is
//! refused); SIGTERM lets the running task finish and exits 0.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_tests::plugin_path;

#[path = "common/auth.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod auth_support;
#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/worker.rs"]
mod worker_support;

use daemon_support::{Daemon, write_project};
use worker_support::Worker;

use auth_support::{ACME, Cred, WORKER, write_project_with_tokens};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, JSON body).
fn call(api: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut response = match (method, body) {
        ("POST", Some(body)) => api.post(url).send_json(body).unwrap(),
        ("GET", _) => api.get(url).call().unwrap(),
        other => panic!("unsupported {other:?}"),
    };
    let status = response.status().as_u16();
    let json = response.body_mut().read_json::<Value>().unwrap();
    (status, json)
}

fn submit(api: &ureq::Agent, url: &str, flow: &str, input: Value) -> String {
    let body = json!({"flow": flow, "input": input});
    let (status, sub) = call(api, "POST", &format!("{url}/v1/runs"), Some(body));
    assert_eq!(status, 201, "{sub}");
    sub["run_id"].as_str().unwrap().to_owned()
}

/// The run once it has finished (waiting up to a minute).
fn finished(api: &ureq::Agent, url: &str, run: &str) -> Value {
    let (status, got) = call(api, "GET", &format!("{url}/v1/runs/{run}?wait=60"), None);
    assert_eq!(status, 200, "{got}");
    got
}

fn events(api: &ureq::Agent, url: &str, run: &str) -> Vec<Value> {
    let (_, got) = call(api, "GET", &format!("{url}/v1/runs/{run}/events"), None);
    got["events"].as_array().unwrap().clone()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}

/// A project whose `work` step is the slow-agent test plugin with `config`,
/// asking the mock model, followed by an echo step.
fn write_agent_project(dir: &Path, config: &str) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["echo", "slow-agent", "mock-model"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        format!(
            "id_prefix: wrk
plugins:
  echo: {{ path: plugins/echo.wasm, kind: step }}
  work: {{ path: plugins/slow-agent.wasm, kind: step, config: {config} }}
  mock-model: {{ path: plugins/mock-model.wasm, kind: model }}
models:
  mock: {{ adapter: mock-model }}
"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/agent.yaml"),
        "id: agent\nsteps:\n  work: { uses: work, model: mock, timeout: 5m }\n  last: { uses: echo, needs: [work] }\n",
    )
    .unwrap();
}

#[test]
fn a_daemon_and_two_workers_finish_200_runs_each_step_once() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let url = daemon.url.clone();
    let api = agent();
    let mut workers = [
        Worker::start(&url, &["--concurrency", "4", "--lease", "30s"]),
        Worker::start(&url, &["--concurrency", "4", "--lease", "30s"]),
    ];

    const RUNS: usize = 200;
    let runs: Vec<String> = (0..RUNS)
        .map(|n| submit(&api, &url, "chain", json!({ "n": n })))
        .collect();
    for (n, run) in runs.iter().enumerate() {
        let got = finished(&api, &url, run);
        assert_eq!(got["run"]["status"], "succeeded", "{got}");
        assert_eq!(got["run"]["output"], json!({"b": {"a": {"n": n}}}), "{got}");
        let (_, report) = call(&api, "GET", &format!("{url}/v1/runs/{run}/verify"), None);
        assert_eq!(report["ok"], true, "{report}");
        let events = events(&api, &url, run);
        assert_eq!(
            count(&events, "step-succeeded"),
            3,
            "each step once: {events:#?}"
        );
        assert_eq!(count(&events, "stale-token-refused"), 0);
    }

    // Every slot of both workers asked for work: 2 × 4 live, none in-process.
    let scrape = metrics(&url);
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("weft_workers_live{instance=") && l.ends_with("} 8")),
        "{scrape}"
    );

    for worker in &workers {
        worker.signal("-TERM");
    }
    let mut leased = Vec::new();
    for worker in &mut workers {
        let status = worker.wait();
        assert!(status.success(), "{status}: {:#?}", worker.seen);
        assert!(
            worker.seen.iter().any(|l| l.contains("drained")),
            "{:#?}",
            worker.seen
        );
        leased.push(worker.leases());
    }
    assert!(
        leased.iter().all(|l| !l.is_empty()),
        "both workers took tasks: {:?}",
        leased.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let mut steps: Vec<(String, String)> = leased
        .iter()
        .flatten()
        .map(|l| (l.run.clone(), l.step.clone()))
        .collect();
    assert_eq!(steps.len(), RUNS * 3, "every step leased once");
    steps.sort();
    steps.dedup();
    assert_eq!(steps.len(), RUNS * 3, "no step leased twice");
    assert!(daemon.stop().success());
}

#[test]
fn a_killed_workers_task_comes_back_and_its_late_result_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // The first time `work` runs it asks the model, marks the run, and spins.
    write_agent_project(dir.path(), "{ spin_once: true }");
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let url = daemon.url.clone();
    let api = agent();
    let mut doomed = Worker::start(&url, &["--concurrency", "1", "--lease", "2s"]);
    let run = submit(&api, &url, "agent", json!({}));
    let lost = doomed.wait_for_lease(Duration::from_secs(60));
    assert_eq!(
        (lost.run.as_str(), lost.step.as_str()),
        (run.as_str(), "work")
    );
    // Kill it once the step is past its model call and its mark: spinning.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&events(&api, &url, &run), "artifact-put") == 0 {
        assert!(Instant::now() < deadline, "the step never marked its run");
        std::thread::sleep(Duration::from_millis(20));
    }
    doomed.signal("-KILL");
    assert!(!doomed.wait().success());

    let mut rescuer = Worker::start(&url, &["--concurrency", "1", "--lease", "2s"]);
    let got = finished(&api, &url, &run);
    assert_eq!(got["run"]["status"], "succeeded", "{got}");
    let again = rescuer.wait_for_lease(Duration::from_secs(5));
    assert_eq!((again.task, again.step.as_str()), (lost.task, "work"));
    assert!(again.token > lost.token, "a new lease, a new token");
    let ledger = events(&api, &url, &run);
    assert_eq!(count(&ledger, "lease-expired"), 1, "{ledger:#?}");
    assert_eq!(
        count(&ledger, "step-succeeded"),
        2,
        "work and last, once each"
    );
    assert_eq!(
        count(&ledger, "model-call-journaled"),
        1,
        "the second execution got the journaled answer"
    );
    let output = &got["outputs"]["work"];
    assert!(
        output["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{got}"
    );

    // The killed worker's result, arriving late, is refused and recorded.
    let late = json!({"token": lost.token, "output": {"text": "late"}, "elapsed_ms": 1});
    let path = format!("{url}/v1/worker/tasks/{}/complete", lost.task);
    let (status, err) = call(&api, "POST", &path, Some(late));
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("lease lost"),
        "{err}"
    );
    let after = events(&api, &url, &run);
    assert_eq!(count(&after, "stale-token-refused"), 1, "{after:#?}");
    let got = finished(&api, &url, &run);
    assert_ne!(got["outputs"]["work"]["text"], "late");
    let scrape = metrics(&url);
    assert!(
        scrape.lines().any(
            |l| l.starts_with("weft_stale_token_refusals_total{instance=") && l.ends_with("} 1")
        ),
        "{scrape}"
    );
    assert!(daemon.stop().success());
}

fn metrics(url: &str) -> String {
    let mut response = agent().get(format!("{url}/metrics")).call().unwrap();
    response.body_mut().read_to_string().unwrap()
}

#[test]
fn sigterm_lets_the_running_task_finish_then_the_worker_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write_agent_project(dir.path(), "{ sleep_ms: 1500 }");
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let url = daemon.url.clone();
    let api = agent();
    let mut worker = Worker::start(
        &url,
        &[
            "--concurrency",
            "2",
            "--lease",
            "5s",
            "--drain-grace",
            "60s",
        ],
    );
    let run = submit(&api, &url, "agent", json!({}));
    let leased = worker.wait_for_lease(Duration::from_secs(60));
    assert_eq!(leased.step, "work");
    worker.signal("-TERM");
    let status = worker.wait();
    assert!(status.success(), "{status}: {:#?}", worker.seen);
    // The step that was running when the signal came finished and was
    // recorded; the step it made ready was not taken.
    let events = events(&api, &url, &run);
    let work_done = events
        .iter()
        .any(|e| e["type"] == "step-succeeded" && e["payload"]["step"] == "work");
    assert!(work_done, "{events:#?}");
    assert_eq!(worker.leases().len(), 1, "{:#?}", worker.seen);
    let (_, stats) = call(&api, "GET", &format!("{url}/v1/queue/stats"), None);
    assert_eq!(stats["depth"], 1, "`last` waits for a worker: {stats}");
    assert_eq!(stats["inflight"], 0, "{stats}");
    assert!(daemon.stop().success());
}

#[test]
fn with_auth_on_a_worker_needs_a_worker_token() {
    let dir = tempfile::tempdir().unwrap();
    write_project_with_tokens(dir.path());
    let daemon = Daemon::start_with(dir.path(), &["--workers", "0"]);
    let url = daemon.url.clone();
    let ask = json!({"worker": "w", "owner": "w/0", "lease_ms": 5000, "wait_ms": 0});
    let tenant = auth_support::call(
        &url,
        "POST",
        "/v1/worker/lease",
        Cred::Token(ACME),
        Some(ask.clone()),
    );
    assert_eq!(tenant.status, 403, "{}", tenant.body);
    let nobody = auth_support::call(&url, "POST", "/v1/worker/lease", Cred::None, Some(ask));
    assert_eq!(nobody.status, 401, "{}", nobody.body);

    let (status, sub) = auth_support::submit(&url, ACME, 5, None);
    assert_eq!(status, 201, "{sub}");
    let run = sub["run_id"].as_str().unwrap();
    // A worker without a token gets nothing; with the worker token it runs
    // the tenant's run.
    let mut refused = Worker::start(&url, &["--concurrency", "1"]);
    let refusal = refused.wait_for_line("answered 401", Duration::from_secs(60));
    assert!(refusal.contains("weft token new --worker"), "{refusal}");
    let mut worker = Worker::start_with_token(&url, &["--concurrency", "2"], Some(WORKER));
    let leased = worker.wait_for_lease(Duration::from_secs(60));
    assert_eq!(leased.run, run);
    let got = auth_support::call(
        &url,
        "GET",
        &format!("/v1/runs/{run}?wait=60"),
        Cred::Token(ACME),
        None,
    );
    assert_eq!(got.body["run"]["status"], "succeeded", "{}", got.body);
    assert_eq!(got.body["run"]["tenant"], "acme");
    assert!(refused.leases().is_empty());
    assert!(daemon.stop().success());
}
