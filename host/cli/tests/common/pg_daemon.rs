//! Real `weft daemon` processes on one real PostgreSQL (`weft-pg-harness`),
//! for the several-daemons tests. Included with `#[path]`, beside
//! `common/daemon.rs` (as `daemon`).
#![allow(dead_code, reason = "each test binary uses a part of the helpers")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use weft_pg_harness::{PgServer, unique_name};
use weft_tests::component_cache_dir;

use super::daemon::write_project;

/// The variable the test projects read their database URL from.
pub const URL_ENV: &str = "WEFT_TEST_DATABASE_URL";

/// A fresh database on the shared PostgreSQL server: its URL.
pub fn fresh_database(prefix: &str) -> String {
    let server = PgServer::shared().expect("PostgreSQL for the test");
    let db = unique_name(prefix);
    server.create_database(&db).unwrap();
    server.url_for(&db)
}

/// A project whose store is the database at `$URL_ENV` and whose steps all
/// run in pool `p3` (at most 3 at once).
pub fn write_pg_project(dir: &Path) {
    write_project(dir);
    append_to_weft_yaml(
        dir,
        &format!(
            "store:\n  backend: postgres\n  url_env: {URL_ENV}\n  pool_size: 4\npools:\n  p3: {{ max_concurrent: 3 }}\ndefaults:\n  pool: p3\n"
        ),
    );
}

/// Adds `text` at the end of `dir/weft.yaml`.
pub fn append_to_weft_yaml(dir: &Path, text: &str) {
    let yaml = dir.join("weft.yaml");
    let mut all = std::fs::read_to_string(&yaml).unwrap();
    all.push_str(text);
    std::fs::write(yaml, all).unwrap();
}

/// A daemon on a PostgreSQL database, with 4 in-process workers; killed
/// when dropped.
pub struct PgDaemon {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The line where it named its store and the other daemons it saw.
    pub store_line: String,
}

impl PgDaemon {
    /// Starts `weft daemon --no-auth --workers 4` in `dir` on `db_url`;
    /// returns once it listens.
    pub fn start(dir: &Path, db_url: &str) -> Self {
        Self::start_with_workers(dir, db_url, 4)
    }

    /// [`PgDaemon::start`] with `workers` in-process workers (0: an API node).
    pub fn start_with_workers(dir: &Path, db_url: &str, workers: usize) -> Self {
        let workers = workers.to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args([
                "daemon",
                "--listen",
                "127.0.0.1:0",
                "--no-auth",
                "--workers",
                &workers,
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
        let mut store_line = String::new();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // The daemon names its store on stderr before it listens.
        while store_line.is_empty() {
            let mut l = String::new();
            if stderr.read_line(&mut l).unwrap() == 0 {
                break;
            }
            if l.starts_with("weft daemon: store") {
                store_line = l.trim().to_owned();
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
        Self {
            child: Some(child),
            url,
            store_line,
        }
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, and waits for a clean exit.
    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            assert!(sent.success());
            assert!(child.wait().unwrap().success());
        }
    }
}

impl Drop for PgDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Submits a run of `flow` with `input`; its id once the daemon acknowledged it.
pub fn post_flow(url: &str, flow: &str, input: Value) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent
        .post(&format!("{url}/v1/runs"))
        .send_json(json!({"flow": flow, "input": input}))
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let body: Value = answer.body_mut().read_json().map_err(|e| e.to_string())?;
    match body["run_id"].as_str() {
        Some(id) if status.is_success() => Ok(id.to_owned()),
        _ => Err(format!("{status}: {body}")),
    }
}

/// Submits a run of `chain`; its id once the daemon acknowledged it.
pub fn post_run(url: &str, n: u64) -> Result<String, String> {
    post_flow(url, "chain", json!({ "n": n }))
}

/// The newest change of the store `url` serves, once it is above `after`
/// or `wait` seconds have passed (`GET /v1/changes`, a long poll).
pub fn next_change(url: &str, after: u64, wait: u64) -> u64 {
    let (status, body) =
        super::daemon::get_json(&format!("{url}/v1/changes?after={after}&wait={wait}"));
    assert_eq!(status, 200, "{body}");
    body["head"].as_u64().unwrap()
}
