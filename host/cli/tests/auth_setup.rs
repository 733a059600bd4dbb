//! Setting up API tokens, against real `weft daemon` processes: the daemon
//! refuses to start without tokens unless given `--no-auth`, and then only on
//! loopback; `weft token new` prints a token whose SHA-256 is on the weft.yaml line
//! it prints, and that line admits the token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use weft_tests::component_cache_dir;

#[path = "common/daemon.rs"]
mod daemon_support;

#[path = "common/auth.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod auth_support;

use auth_support::{
    Cred, append_to_weft_yaml, call, sha256_hex, submit, text, weft, write_project_with_tokens,
};
use daemon_support::{Daemon, write_project};

/// Starts `weft daemon ARGS` in `dir`, which must exit on its own; its stderr.
fn refused_start(dir: &Path, args: &[&str]) -> String {
    let state = dir.join("state").display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("daemon")
        .args(args)
        .args(["--state", &state])
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("weft daemon {args:?} did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "it never listened: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_daemon_serves_unauthenticated_only_when_told_and_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let err = refused_start(dir.path(), &["--listen", "127.0.0.1:0"]);
    assert!(
        err.contains("declares no API token") && err.contains("--no-auth"),
        "{err}"
    );
    let err = refused_start(dir.path(), &["--no-auth", "--listen", "0.0.0.0:0"]);
    assert!(
        err.contains("--no-auth refuses --listen 0.0.0.0:0") && err.contains("loopback"),
        "{err}"
    );
    // With --no-auth on loopback it serves everyone as an admin.
    let daemon = Daemon::start(dir.path());
    let stats = call(&daemon.url, "GET", "/v1/queue/stats", Cred::None, None);
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert!(stats.challenge.is_none());
    let ignored = Cred::Header("Bearer weft_anything");
    let listed = call(&daemon.url, "GET", "/v1/runs", ignored, None);
    assert_eq!(listed.status, 200, "a header is ignored: {}", listed.body);
    assert!(daemon.stop().success());

    let tokens = tempfile::tempdir().unwrap();
    write_project_with_tokens(tokens.path());
    let err = refused_start(tokens.path(), &["--no-auth", "--listen", "127.0.0.1:0"]);
    assert!(
        err.contains("declares 4 API token(s)") && err.contains("drop --no-auth"),
        "{err}"
    );
}

#[test]
fn token_new_prints_a_token_and_the_line_with_its_hash_that_admits_it() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let out = weft(
        dir.path(),
        None,
        &["token", "new", "--tenant", "acme", "--name", "laptop"],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    let token = stdout.lines().next().unwrap().to_owned();
    assert!(
        token.starts_with("weft_") && token.len() == 5 + 64,
        "{token}"
    );
    assert!(hex::decode(&token[5..]).is_ok(), "{token}");
    assert!(stdout.contains("under `tenants.acme.tokens`"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("sha256:"))
        .unwrap()
        .to_owned();
    assert_eq!(
        line,
        format!(
            "      - {{ name: laptop, sha256: \"{}\" }}",
            sha256_hex(&token)
        )
    );

    let out = weft(dir.path(), None, &["token", "new", "--worker", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let worker: Value = serde_json::from_slice(&out.stdout).unwrap();
    let worker_token = worker["token"].as_str().unwrap();
    assert_ne!(worker_token, token, "two tokens are never the same");
    assert_eq!(worker["sha256"], sha256_hex(worker_token));
    assert_eq!(worker["yaml_path"], "auth.worker_tokens");
    let worker_line = worker["yaml_line"].as_str().unwrap();
    assert!(
        worker_line.contains(&sha256_hex(worker_token)),
        "{worker_line}"
    );

    let refused = weft(dir.path(), None, &["token", "new", "--tenant", "Acme"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("invalid tenant name `Acme`"));

    // The lines pasted into weft.yaml admit the tokens.
    append_to_weft_yaml(
        dir.path(),
        &format!(
            "tenants:\n  acme:\n    tokens:\n{line}\nauth:\n  worker_tokens:\n    {worker_line}\n"
        ),
    );
    let daemon = Daemon::start_with(dir.path(), &[]);
    let url = &daemon.url;
    let (status, sub) = submit(url, &token, 5, None);
    assert_eq!(status, 201, "{sub}");
    let run = sub["run_id"].as_str().unwrap();
    let got = call(
        url,
        "GET",
        &format!("/v1/runs/{run}"),
        Cred::Token(&token),
        None,
    );
    assert_eq!(got.body["run"]["tenant"], "acme");
    let w = call(url, "GET", "/v1/runs", Cred::Token(worker_token), None);
    assert_eq!(
        w.status, 403,
        "the worker token is known, and not for runs: {}",
        w.body
    );
}
