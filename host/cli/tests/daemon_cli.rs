//! The `weft` commands that talk to a daemon (`--daemon URL` or `WEFT_DAEMON`),
//! against a real `weft daemon` process on loopback: enqueue and wait,
//! idempotency keys, queue stats, runs, dead letters, schedules; a URL where
//! nothing listens; the store locked by the daemon.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use weft_tests::component_cache_dir;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, write_project};
use output::{failed, json_ok, stderr, stdout};

/// Where a command is told the daemon is.
enum Via<'a> {
    /// Neither `--daemon` nor `WEFT_DAEMON`.
    Nothing,
    /// `--daemon URL`.
    Flag(&'a str),
    /// `WEFT_DAEMON=URL`.
    Env(&'a str),
}

/// Runs `weft ARGS` in `dir`, told where the daemon is by `via`.
fn weft(dir: &Path, via: &Via<'_>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env_remove("WEFT_DAEMON")
        .current_dir(dir);
    match via {
        Via::Nothing => {}
        Via::Flag(url) => {
            command.args(["--daemon", url]);
        }
        Via::Env(url) => {
            command.env("WEFT_DAEMON", url);
        }
    }
    command.output().unwrap()
}

#[test]
fn the_cli_talks_to_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let daemon = Daemon::start(dir.path());
    let d = dir.path();
    let flag = Via::Flag(&daemon.url);
    let env = Via::Env(&daemon.url);

    // Enqueue and wait; the same key again names the same run.
    let enqueue = |via: &Via<'_>, input: &str| {
        weft(
            d,
            via,
            &[
                "enqueue",
                "chain",
                "-i",
                input,
                "--idempotency-key",
                "k-1",
                "--wait",
                "60",
                "--json",
            ],
        )
    };
    let first = json_ok(&enqueue(&flag, r#"{"n":1}"#));
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["created"], true, "{first}");
    assert_eq!(
        first["output"]["b"]["a"]["n"], 1,
        "each echo wraps what it got: {first}"
    );
    let run = first["run_id"].as_str().unwrap().to_owned();
    let again = json_ok(&enqueue(&env, r#"{"n":1}"#));
    assert_eq!(again["run_id"], run.as_str());
    assert_eq!(again["created"], false, "{again}");
    let err = failed(&enqueue(&flag, r#"{"n":2}"#));
    assert!(err.contains("k-1") && err.contains(&run), "{err}");
    assert!(err.contains("409"), "{err}");

    // Text output: the run id, and the output after --wait.
    let out = weft(
        d,
        &flag,
        &["enqueue", "chain", "-i", r#"{"n":3}"#, "--wait", "60"],
    );
    assert!(out.status.success(), "{out:?}");
    let output: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(output["b"]["a"]["n"], 3, "{output}");
    assert!(stderr(&out).contains("succeeded"), "{out:?}");

    // Everything ran: nothing left in the queue.
    let stats = json_ok(&weft(d, &flag, &["queue", "stats", "--json"]));
    assert_eq!(stats["depth"], 0, "{stats}");
    assert_eq!(stats["inflight"], 0, "{stats}");
    assert_eq!(stats["dlq"], 0, "{stats}");
    let text = stdout(&weft(d, &env, &["queue", "stats"]));
    assert!(text.contains("inflight  0"), "{text}");

    // Runs: list, status, verify, through the flag and through the variable.
    for via in [&flag, &env] {
        let listed = json_ok(&weft(
            d,
            via,
            &["runs", "list", "--flow", "chain", "--json"],
        ));
        let rows = listed.as_array().unwrap();
        assert_eq!(rows.len(), 2, "{listed}");
        assert!(rows.iter().any(|r| r["run_id"] == run.as_str()), "{listed}");
        assert!(rows.iter().all(|r| r["status"] == "succeeded"), "{listed}");
        let status = json_ok(&weft(d, via, &["runs", "status", &run, "--json"]));
        assert_eq!(status["status"], "succeeded", "{status}");
        assert_eq!(status["tasks"].as_array().unwrap().len(), 3, "{status}");
        assert_eq!(status["tasks"][0]["output"]["n"], 1, "{status}");
        let out = weft(d, via, &["runs", "verify", &run]);
        assert!(out.status.success(), "{out:?}");
        assert!(
            stdout(&out).contains(&format!("ledger of {run} verified")),
            "{out:?}"
        );
    }
    let none = json_ok(&weft(
        d,
        &flag,
        &["runs", "list", "--status", "failed", "--json"],
    ));
    assert_eq!(none, Value::Array(vec![]));
    let text = stdout(&weft(d, &flag, &["runs", "status", &run]));
    assert!(text.contains("status   succeeded"), "{text}");
    let verified = json_ok(&weft(d, &flag, &["runs", "verify", &run, "--json"]));
    assert_eq!(verified["verified"], true, "{verified}");
    assert_eq!(verified["head"].as_str().unwrap().len(), 64, "{verified}");
    let err = failed(&weft(
        d,
        &flag,
        &["runs", "status", "dmn-2020-01-01-001-abc"],
    ));
    assert!(
        err.contains("dmn-2020-01-01-001-abc") && err.contains("404"),
        "{err}"
    );

    // No dead letters.
    assert_eq!(
        json_ok(&weft(d, &flag, &["dlq", "ls", "--json"])),
        Value::Array(vec![])
    );
    let out = weft(d, &env, &["dlq", "ls"]);
    assert!(stderr(&out).contains("is empty"), "{out:?}");
    let err = failed(&weft(d, &flag, &["dlq", "requeue", "42"]));
    assert!(err.contains("no dead-lettered task `42`"), "{err}");

    // Schedules: list, pause, trigger while paused, resume.
    let listed = json_ok(&weft(d, &flag, &["schedules", "list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["cron"], "0 0 0 1 1 *");
    assert_eq!(listed[0]["paused"], false);
    let paused = json_ok(&weft(
        d,
        &flag,
        &["schedules", "pause", "chain", "0", "--json"],
    ));
    assert_eq!(paused["paused"], true, "{paused}");
    let fired = json_ok(&weft(
        d,
        &env,
        &["schedules", "trigger", "chain", "0", "--json"],
    ));
    let fired_run = fired["run_id"].as_str().unwrap();
    let text = stdout(&weft(d, &flag, &["schedules", "list"]));
    assert!(text.contains("paused"), "{text}");
    let resumed = json_ok(&weft(
        d,
        &flag,
        &["schedules", "resume", "chain", "0", "--json"],
    ));
    assert_eq!(resumed["paused"], false, "{resumed}");
    let listed = json_ok(&weft(d, &flag, &["schedules", "list", "--json"]));
    assert_eq!(listed[0]["fires"], 1, "{listed}");
    assert_eq!(listed[0]["last_run"], fired_run, "{listed}");
    let err = failed(&weft(d, &flag, &["schedules", "trigger", "chain", "5"]));
    assert!(err.contains("404"), "{err}");

    // Without a daemon URL, the daemon's store is locked: say what to do.
    let state = d.join("state").display().to_string();
    let err = failed(&weft(
        d,
        &Via::Nothing,
        &["runs", "list", "--state", &state],
    ));
    assert!(err.contains("in use by another process"), "{err}");
    assert!(
        err.contains("--daemon") && err.contains("WEFT_DAEMON"),
        "{err}"
    );
    // runs tail reads the ledger through the daemon too.
    let out = weft(d, &env, &["runs", "tail", &run, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let last = stdout(&out).lines().last().unwrap_or_default().to_owned();
    assert!(last.contains("\"type\":\"run-succeeded\""), "{last}");
    // Enqueue needs a daemon.
    let err = failed(&weft(d, &Via::Nothing, &["enqueue", "chain"]));
    assert!(
        err.contains("weft daemon") && err.contains("weft run"),
        "{err}"
    );

    let status = daemon.stop();
    assert!(status.success(), "SIGTERM: {status:?}");
    // The store is free again: the local queue figures, in the same shape.
    let stats = json_ok(&weft(
        d,
        &Via::Nothing,
        &["queue", "stats", "--state", &state, "--json"],
    ));
    assert_eq!(stats["depth"], 0, "{stats}");
    assert_eq!(stats["dlq"], 0, "{stats}");
}

#[test]
fn a_daemon_url_where_nothing_listens_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let expected = format!("could not reach the weft daemon at {url}");
    let err = failed(&weft(dir.path(), &Via::Flag(&url), &["runs", "list"]));
    assert!(err.contains(&expected), "{err}");
    let err = failed(&weft(dir.path(), &Via::Env(&url), &["queue", "stats"]));
    assert!(err.contains(&expected), "{err}");
    let bare = format!("127.0.0.1:{port}");
    let err = failed(&weft(dir.path(), &Via::Flag(&bare), &["enqueue", "chain"]));
    assert!(
        err.contains(&expected),
        "a bare host:port means http: {err}"
    );
}
