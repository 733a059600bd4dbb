//! The CLI over the daemon's Unix socket (`--daemon unix:PATH`,
//! `WEFT_DAEMON=unix:PATH`), against a real `weft daemon --socket PATH`: the
//! commands that talk to a daemon, and a `weft worker` that leases through
//! it. And `weft enqueue FILE`: a path to a flow file submits the file's `id`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use weft_tests::component_cache_dir;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;
#[allow(dead_code, reason = "this test uses a part of the helpers")]
#[path = "common/worker.rs"]
mod worker_support;

use daemon_support::{Daemon, weft_via, write_project};
use output::{failed, json_ok, stdout};
use worker_support::Worker;

/// `weft ARGS` in `dir` with `WEFT_DAEMON=daemon` (and no `--daemon`).
fn weft_env(dir: &Path, daemon: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env("WEFT_DAEMON", daemon)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn the_cli_talks_to_the_daemon_over_its_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    // No worker in the daemon: the run below is run by a worker that reaches
    // the daemon over the socket too.
    let daemon = Daemon::start_with_workers(d, 0);
    let socket = format!("unix:{}", d.join("weft.sock").display());
    let mut worker = Worker::start(&socket, &["--concurrency", "1"]);
    worker.wait_for_line(&format!("working for {socket}"), Duration::from_secs(30));

    let submitted = json_ok(&weft_via(
        d,
        &socket,
        &[
            "enqueue",
            "chain",
            "-i",
            r#"{"n":3}"#,
            "--wait",
            "60",
            "--json",
        ],
    ));
    assert_eq!(submitted["status"], "succeeded", "{submitted}");
    let run = submitted["run_id"].as_str().unwrap();
    let leased = worker.wait_for_lease(Duration::from_secs(5));
    assert_eq!(leased.run, run);

    // `WEFT_DAEMON=unix:…`, a path relative to the current folder, and `unix://`.
    let listed = json_ok(&weft_env(d, "unix:weft.sock", &["runs", "list", "--json"]));
    assert!(listed.to_string().contains(run), "{listed}");
    let url_form = format!("unix://{}", d.join("weft.sock").display());
    let status = json_ok(&weft_via(d, &url_form, &["runs", "status", run, "--json"]));
    assert_eq!(status["status"], "succeeded", "{status}");
    for args in [
        &["runs", "verify", run][..],
        &["queue", "stats"],
        &["dlq", "ls"],
        &["pools"],
        &["schedules", "list"],
        &["lock", "list"],
    ] {
        let out = weft_via(d, &socket, args);
        assert!(out.status.success(), "{args:?}: {out:?}");
    }

    // A socket where nothing listens: the error names it as given.
    let gone = format!("unix:{}", d.join("nobody.sock").display());
    let err = failed(&weft_via(d, &gone, &["runs", "list"]));
    assert!(
        err.contains(&format!("could not reach the weft daemon at {gone}")),
        "{err}"
    );
    drop(worker);
    drop(daemon);
}

#[test]
fn enqueue_takes_the_path_of_a_flow_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start(d);
    let url = daemon.url.as_str();

    // `flows/chain.yaml` declares `id: chain`: that is what runs.
    let out = weft_via(
        d,
        url,
        &[
            "enqueue",
            "flows/chain.yaml",
            "-i",
            r#"{"n":1}"#,
            "--wait",
            "60",
            "--json",
        ],
    );
    let done = json_ok(&out);
    assert_eq!(done["status"], "succeeded", "{done}");
    let run = done["run_id"].as_str().unwrap();
    let status = json_ok(&weft_via(d, url, &["runs", "status", run, "--json"]));
    assert_eq!(status["flow"], "chain", "{status}");
    // From inside flows/, a bare file name with its `.yaml` works too.
    let out = weft_via(
        &d.join("flows"),
        url,
        &["enqueue", "chain.yaml", "-i", r#"{"n":1}"#],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).trim().starts_with("dmn-"), "{out:?}");

    // A path to no file, and a file without `id:`, are errors that say so.
    let err = failed(&weft_via(d, url, &["enqueue", "flows/nope.yaml"]));
    assert!(err.contains("no flow file flows/nope.yaml"), "{err}");
    std::fs::write(d.join("other.yaml"), "steps: {}\n").unwrap();
    let err = failed(&weft_via(d, url, &["enqueue", "other.yaml"]));
    assert!(err.contains("other.yaml has no `id:`"), "{err}");
    // A flow id is still a flow id.
    let out = weft_via(d, url, &["enqueue", "chain", "-i", r#"{"n":1}"#]);
    assert!(out.status.success(), "{out:?}");
    let status: Value = json_ok(&weft_via(d, url, &["runs", "list", "--json"]));
    assert_eq!(status.as_array().unwrap().len(), 3, "{status}");
}
