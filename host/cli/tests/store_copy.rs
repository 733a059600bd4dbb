//! `weft store copy`: runs made with `weft run` in the embedded store are
//! copied into a real PostgreSQL (`weft-pg-harness`); every ledger verifies
//! there to the same head (`weft runs verify` on the PostgreSQL-backed
//! project), a second copy is a no-op, a store in use is refused, and a
//! daemon on the database serves the copied runs.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use weft_pg_harness::{PgServer, unique_name};
use weft_tests::component_cache_dir;

use common::text;
use daemon::{get_json, write_project};

/// The variable the test reads the database URL from.
const URL_ENV: &str = "WEFT_TEST_COPY_DATABASE_URL";

/// `weft ARGS` in `dir` with the database URL in [`URL_ENV`].
fn weft(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env(URL_ENV, url)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(dir)
        .output()
        .unwrap()
}

fn json_ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The ledger head `weft runs verify` reports (with `extra` store arguments).
fn verified_head(dir: &Path, url: &str, run: &str, extra: &[&str]) -> (u64, String) {
    let mut args = vec!["runs", "verify", run, "--json"];
    args.extend_from_slice(extra);
    let v = json_ok(&weft(dir, url, &args));
    assert!(v["first_bad"].is_null(), "{v}");
    (
        v["events"].as_u64().unwrap(),
        v["head"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn runs_copied_to_postgres_verify_and_are_served() {
    let server = PgServer::shared().expect("PostgreSQL for the test");
    let db = unique_name("storecopy");
    server.create_database(&db).unwrap();
    let url = server.url_for(&db);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_project(dir);

    let mut runs = Vec::new();
    for n in 0..3 {
        let input = format!("{{\"n\": {n}}}");
        let args = [
            "run",
            "chain",
            "-i",
            &input,
            "--state",
            ".weft-state",
            "--json",
        ];
        let report = json_ok(&weft(dir, &url, &args));
        runs.push(report["run_id"].as_str().unwrap().to_owned());
    }
    let state = ["--state", ".weft-state"];
    let source_heads: Vec<_> = runs
        .iter()
        .map(|r| verified_head(dir, &url, r, &state))
        .collect();

    let target = format!("postgres:{URL_ENV}");
    let copy = ["store", "copy", "--from", ".weft-state", "--to", &target];
    let out = weft(dir, &url, &copy);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("copied 3 runs"), "{stdout}");
    assert!(stdout.contains("verified: all 3 runs"), "{stdout}");
    assert!(
        !stdout.contains("postgres://") && !stderr.contains("postgres://"),
        "{stdout}{stderr}"
    );
    // Again: every run is already there, identical.
    let again = weft(dir, &url, &copy);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("copied 3 runs"));
    // A missing source is refused, naming it.
    let missing = weft(
        dir,
        &url,
        &["store", "copy", "--from", "nowhere", "--to", &target],
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("nowhere"),
        "{}",
        text(&missing.stderr)
    );

    // The project on PostgreSQL: the same heads.
    let yaml = dir.join("weft.yaml");
    let mut config = std::fs::read_to_string(&yaml).unwrap();
    config.push_str(&format!(
        "store:\n  backend: postgres\n  url_env: {URL_ENV}\n  pool_size: 4\n"
    ));
    std::fs::write(&yaml, config).unwrap();
    for (run, head) in runs.iter().zip(&source_heads) {
        assert_eq!(&verified_head(dir, &url, run, &[]), head, "run {run}");
    }

    // A daemon on the database serves the copied runs.
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "daemon",
            "--listen",
            "127.0.0.1:0",
            "--no-auth",
            "--workers",
            "1",
        ])
        .env(URL_ENV, &url)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let api = line
        .trim()
        .strip_prefix("weft daemon listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    for run in &runs {
        let (status, body) = get_json(&format!("{api}/v1/runs/{run}"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["run"]["status"], "succeeded", "{body}");
        assert_eq!(body["run"]["id"], run.as_str(), "{body}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_store_in_use_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_project(dir);
    let out = common::weft(
        dir,
        &["run", "chain", "-i", "{\"n\": 1}", "--state", "state"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let daemon = daemon::Daemon::start(dir);
    let out = common::weft(dir, &["store", "copy", "--from", "state", "--to", "copy"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("in use by another process"), "{stderr}");
    daemon.kill();
}
