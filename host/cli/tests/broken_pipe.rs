//! A reader that stops reading early (`weft runs tail RUN | head`) closes the
//! pipe under `weft`: every command then exits quietly (status 0, nothing on
//! stderr), never with a "failed printing to stdout" panic. Real processes:
//! the binary writes into a pipe whose reading end is already closed, or that
//! a reader closes after its first line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use weft_store_api::prelude::*;

use common::text;
use serde_json::Value;
use weft_tests::{component_cache_dir, repo_root};

/// `weft ARGS` from the repository root, writing into a pipe that nobody
/// reads any more (its reading end is closed before the process starts).
fn into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(repo_root())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// `weft ARGS` whose stdout a reader closes after the first line, as `head -n
/// 1` does; returns that line and the process's output.
fn read_one_line(args: &[&str]) -> (String, Output) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The reader is gone now: whatever weft writes next meets a closed pipe.
    (line, child.wait_with_output().unwrap())
}

/// Runs support-triage into `state` (5 steps: a ledger of a few dozen events)
/// and returns the run id.
fn triage(state: &Path) -> String {
    let state = state.display().to_string();
    let input = r#"{"ticket":{"id":7,"customer":"ada","body":"Login fails."}}"#;
    let out = common::weft(
        &repo_root(),
        &[
            "run",
            "support-triage",
            "-i",
            input,
            "--state",
            &state,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["run_id"].as_str().unwrap().to_owned()
}

fn assert_quiet(what: &str, out: &Output) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe") && !err.contains("backtrace"),
        "{what}: panic text on stderr:\n{err}"
    );
    assert!(err.trim().is_empty(), "{what}: stderr is not empty:\n{err}");
    assert_eq!(out.status.code(), Some(0), "{what}: {out:?}");
}

#[test]
fn commands_exit_quietly_when_their_reader_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().display().to_string();
    let run = triage(dir.path());

    for args in [
        vec!["runs", "tail", run.as_str()],
        vec!["runs", "tail", run.as_str(), "--json"],
        vec!["runs", "tail", run.as_str(), "--follow"],
        vec!["runs", "list"],
        vec!["runs", "list", "--json"],
        vec!["runs", "status", run.as_str()],
        vec!["runs", "verify", run.as_str()],
    ] {
        let mut args = args;
        args.extend(["--state", state.as_str()]);
        assert_quiet(&args.join(" "), &into_closed_pipe(&args));
    }
}

#[test]
fn a_reader_that_closes_after_one_line_ends_weft_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().display().to_string();
    // Far more runs than a pipe buffers (64 KiB): `runs list` is still
    // writing when the reader goes.
    fill_with_runs(dir.path(), 3_000);
    let (line, out) = read_one_line(&["runs", "list", "--state", &state, "--limit", "5000"]);
    assert!(line.starts_with("RUN "), "{line}");
    assert_quiet("runs list | head -n 1", &out);
    let (line, out) = read_one_line(&[
        "runs", "list", "--json", "--state", &state, "--limit", "5000",
    ]);
    assert_eq!(line.trim(), "[", "{line}");
    assert_quiet("runs list --json | head -n 1", &out);
}

/// Submits `n` runs (one ready task each) straight into the store of `dir`.
fn fill_with_runs(dir: &Path, n: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = weft_store_redb::RedbStore::open(dir.join("weft.redb")).unwrap();
        let submits: Vec<_> = (0..n)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let run = weft_store_api::NewRun {
                        flow_id: "chain".into(),
                        flow_version: "1".into(),
                        tenant: "default".into(),
                        input: serde_json::json!({ "n": i }),
                        priority: 0,
                        idempotency_key: None,
                        id_prefix: "pipe".into(),
                        not_before: None,
                        initial_tasks: vec![weft_store_api::NewTask {
                            step_id: "a".into(),
                            pool: "default".into(),
                            priority: 0,
                        }],
                    };
                    store.submit_run(run, 1_795_305_600_000).await.unwrap();
                })
            })
            .collect();
        for submit in submits {
            submit.await.unwrap();
        }
        store.close().await;
    });
}
