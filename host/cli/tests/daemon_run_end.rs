//! Every end of a run through a real `weft daemon` is reported as a run end:
//! a `GET /v1/runs/{id}?wait=` long-poll answers as soon as the run is
//! cancelled (`POST /v1/runs/{id}/cancel`) or its dead letter purged (`DELETE
//! /v1/dlq/{task}`: the run fails), not when its wait is over, and
//! `weft_runs_total` counts both (`status="cancelled"`, `status="failed"`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use weft_tests::plugin_path;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, get_json, wait_for_run, weft_via};
use output::{failed, json_ok, stdout};

/// A project whose flow `flaky` dead-letters its only step at the first
/// (transient) failure: one attempt allowed.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["flaky-step", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: end\nplugins:\n  flaky-step: { path: plugins/flaky-step.wasm, kind: step }\n  \
         exp-backoff: { path: plugins/exp-backoff.wasm, kind: retry }\n\
         defaults:\n  retry: { strategy: exp-backoff, max_attempts: 1 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/flaky.yaml"),
        "id: flaky\nsteps:\n  try: { uses: flaky-step, with: { succeed_on_attempt: 2 } }\n",
    )
    .unwrap();
}

/// A run of `flaky` whose task is dead-lettered: open, with nothing to run.
fn dead_lettered_run(d: &Path, url: &str) -> (String, u64) {
    let run = stdout(&weft_via(d, url, &["enqueue", "flaky"]))
        .trim()
        .to_owned();
    wait_for_run(url, &run, |page| page["open_tasks"] == 0);
    let dead = json_ok(&weft_via(d, url, &["dlq", "ls", "--json"]));
    let task = dead
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["run_id"] == run.as_str())
        .unwrap_or_else(|| panic!("{run} is not dead-lettered: {dead}"))["task"]
        .as_u64()
        .unwrap();
    (run, task)
}

/// Runs `weft ARGS` in `dir` on its state folder (no daemon).
fn weft_local(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env_remove("WEFT_DAEMON")
        .current_dir(dir)
        .output()
        .unwrap()
}

/// The `reason` of the run's `run-cancelled` event, through the daemon.
fn cancelled_reason(d: &Path, url: &str, run: &str) -> Value {
    let tail = stdout(&weft_via(d, url, &["runs", "tail", run, "--json"]));
    tail.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["type"] == "run-cancelled")
        .unwrap_or_else(|| panic!("no run-cancelled event: {tail}"))["payload"]["reason"]
        .clone()
}

/// `GET /v1/runs/{run}?wait=60` in a thread: its answer and how long it took.
fn long_poll(url: &str, run: &str) -> thread::JoinHandle<(Value, Duration)> {
    let target = format!("{url}/v1/runs/{run}?wait=60");
    thread::spawn(move || {
        let start = Instant::now();
        let (status, body) = get_json(&target);
        assert_eq!(status, 200, "{body}");
        (body, start.elapsed())
    })
}

fn call(method: &str, url: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = match method {
        "POST" => agent.post(url).send_empty().unwrap(),
        "DELETE" => agent.delete(url).call().unwrap(),
        other => panic!("unsupported {other}"),
    };
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap())
}

fn runs_total(url: &str, flow: &str, status: &str) -> f64 {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let text = agent
        .get(format!("{url}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == "weft_runs_total")
        .find(|s| s.labels.get("flow") == Some(flow) && s.labels.get("status") == Some(status))
        .map_or(0.0, |s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("weft_runs_total is not a counter"),
        })
}

#[test]
fn cancel_and_purge_end_the_run_for_waiters_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start(d);
    let url = daemon.url.clone();

    // Cancel: the long-poll answers at once with the cancelled run.
    let (cancelled, _) = dead_lettered_run(d, &url);
    let waiting = long_poll(&url, &cancelled);
    // Not a synchronisation: a poll that starts after the cancel sees a
    // finished run and answers at once too. The pause lets it be waiting
    // already, so that the wake-up is what the test exercises.
    thread::sleep(Duration::from_millis(500));
    let (status, body) = call("POST", &format!("{url}/v1/runs/{cancelled}/cancel"));
    assert_eq!(
        (status, &body["status"]),
        (200, &Value::from("cancelled")),
        "{body}"
    );
    let (answer, took) = waiting.join().unwrap();
    assert_eq!(answer["run"]["status"], "cancelled", "{answer}");
    assert!(took < Duration::from_secs(10), "the wait took {took:?}");
    assert_eq!(runs_total(&url, "flaky", "cancelled"), 1.0);

    // Purge: the run fails, saying why; the long-poll answers at once.
    let (purged, task) = dead_lettered_run(d, &url);
    let waiting = long_poll(&url, &purged);
    thread::sleep(Duration::from_millis(500)); // as above
    let (status, body) = call("DELETE", &format!("{url}/v1/dlq/{task}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["purged"], &body["run_status"]),
        (&Value::from(true), &Value::from("failed")),
        "{body}"
    );
    let (answer, took) = waiting.join().unwrap();
    assert_eq!(answer["run"]["status"], "failed", "{answer}");
    assert!(took < Duration::from_secs(10), "the wait took {took:?}");
    let error = answer["run"]["error"].as_str().unwrap();
    assert!(
        error.contains("purged from the dead-letter queue"),
        "{error}"
    );
    assert!(error.contains("gave up after 1 attempts"), "{error}");
    assert_eq!(runs_total(&url, "flaky", "failed"), 1.0);
    assert_eq!(runs_total(&url, "flaky", "cancelled"), 1.0);

    // The CLI shows the end: status and the end event last in the ledger.
    let status = json_ok(&weft_via(d, &url, &["runs", "status", &purged, "--json"]));
    assert_eq!(status["status"], "failed", "{status}");
    let tail = stdout(&weft_via(d, &url, &["runs", "tail", &purged, "--json"]));
    let kinds: Vec<String> = tail
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["task-purged", "run-failed"],
        "{kinds:?}"
    );
    daemon.stop();
}

#[test]
fn weft_runs_cancel_ends_a_run_with_its_reason_through_a_daemon_and_locally() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start(d);
    let url = daemon.url.clone();

    let (run, _) = dead_lettered_run(d, &url);
    let answer = json_ok(&weft_via(
        d,
        &url,
        &[
            "runs",
            "cancel",
            &run,
            "--reason",
            "no longer wanted",
            "--json",
        ],
    ));
    assert_eq!(answer["status"], "cancelled", "{answer}");
    assert_eq!(answer["error"], "cancelled: no longer wanted", "{answer}");
    assert_eq!(
        cancelled_reason(d, &url, &run),
        "cancelled: no longer wanted"
    );
    assert_eq!(runs_total(&url, "flaky", "cancelled"), 1.0);
    // A finished run is not cancelled again, and says so.
    let again = failed(&weft_via(d, &url, &["runs", "cancel", &run]));
    assert!(
        again.contains("finished") || again.contains("cancelled"),
        "{again}"
    );

    // On the state folder, with no daemon: the same end.
    let (local, _) = dead_lettered_run(d, &url);
    daemon.stop();
    let out = weft_local(d, &["runs", "cancel", &local, "--state", "state"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert_eq!(text.trim(), format!("run {local} cancelled (cancelled)"));
    let status = json_ok(&weft_local(
        d,
        &["runs", "status", &local, "--state", "state", "--json"],
    ));
    assert_eq!(status["status"], "cancelled", "{status}");
}
