//! Runs that wait to start (`weft enqueue --delay/--at`, `not_before` in the
//! API) against a real `weft daemon`: the run is queued with its first task
//! delayed, starts no earlier than asked, survives a SIGKILL of the daemon
//! while it waits, and a bad time is refused before anything is created.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use serde_json::Value;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, get_json, wait_for_run, weft_via, write_project};
use output::{json_ok, stdout};

/// The events of `run`, from the daemon.
fn events(url: &str, run: &str) -> Vec<Value> {
    let (status, page) = get_json(&format!("{url}/v1/runs/{run}/events?after=0"));
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().unwrap().clone()
}

fn time_of(events: &[Value], kind: &str) -> u64 {
    let event = events.iter().find(|e| e["type"] == kind).expect(kind);
    event["time_ms"].as_u64().unwrap()
}

#[test]
fn a_delayed_run_waits_queued_survives_a_kill_and_starts_no_earlier_than_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start(d);
    let url = daemon.url.clone();
    let weft = |url: &str, args: &[&str]| weft_via(d, url, args);

    let submitted = json_ok(&weft(
        &url,
        &[
            "enqueue",
            "chain",
            "-i",
            r#"{"n":1}"#,
            "--delay",
            "3s",
            "--json",
        ],
    ));
    let run = submitted["run_id"].as_str().unwrap().to_owned();
    let (_, page) = get_json(&format!("{url}/v1/runs/{run}"));
    assert_eq!(page["run"]["status"], "queued", "{page}");
    let created = events(&url, &run);
    let not_before = created[0]["payload"]["not_before"].as_u64().unwrap();
    assert!(not_before > created[0]["time_ms"].as_u64().unwrap() + 2_000);
    let status = stdout(&weft(&url, &["runs", "status", &run]));
    let row = status.lines().find(|l| l.contains(" a ")).expect(&status);
    assert!(
        row.contains("delayed") && row.contains("until 20"),
        "{status}"
    );

    // A crash while it waits loses nothing: the restarted daemon starts it.
    daemon.kill();
    let daemon = Daemon::start(d);
    let url = daemon.url.clone();
    wait_for_run(&url, &run, |page| page["status"] == "succeeded");
    let all = events(&url, &run);
    assert!(time_of(&all, "step-started") >= not_before, "{all:?}");
    let firsts = all
        .iter()
        .filter(|e| e["type"] == "step-succeeded" && e["payload"]["step"] == "a")
        .count();
    assert_eq!(firsts, 1);

    // A time that is not RFC 3339 is refused and creates no run.
    let before = stdout(&weft(&url, &["runs", "list"]));
    let out = weft(
        &url,
        &[
            "enqueue",
            "chain",
            "-i",
            r#"{"n":2}"#,
            "--at",
            "tomorrow 9am",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RFC 3339"), "{err}");
    assert_eq!(stdout(&weft(&url, &["runs", "list"])), before);
    let out = weft(
        &url,
        &["enqueue", "chain", "-i", r#"{"n":2}"#, "--delay", "400d"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at most 366 days"), "{err}");
}
