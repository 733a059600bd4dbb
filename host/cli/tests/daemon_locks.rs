//! `weft lock acquire|release|list` against a real `weft daemon` on loopback
//! (and the API's answers behind them), then against the state folder once the
//! daemon has stopped: the tokens keep growing across both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, get_json, weft_via, write_project};
use output::{failed, json_ok, stderr, stdout};

/// `weft ARGS --state DIR/state` without a daemon.
fn weft_local(dir: &Path, args: &[&str]) -> Output {
    let state = dir.join("state").display().to_string();
    std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .args(["--state", &state])
        .env_remove("WEFT_DAEMON")
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn locks_through_the_daemon_then_from_the_state_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start_with_workers(d, 1);
    let url = daemon.url.as_str();
    let weft = |args: &[&str]| weft_via(d, url, args);

    // Acquire: the token alone on stdout, the rest on stderr.
    let out = weft(&[
        "lock",
        "acquire",
        "deploy/prod",
        "--owner",
        "ada",
        "--ttl",
        "10m",
    ]);
    assert!(out.status.success(), "{out:?}");
    let token: u64 = stdout(&out).trim().parse().unwrap();
    assert!(
        stderr(&out).contains("acquired lock `deploy/prod` for ada"),
        "{out:?}"
    );

    // Someone else is refused, told who holds it and until when.
    let err = failed(&weft(&["lock", "acquire", "deploy/prod", "--owner", "bob"]));
    assert!(
        err.contains("lock `deploy/prod` is held by ada until"),
        "{err}"
    );
    let out = weft(&["lock", "acquire", "deploy/prod", "--owner", "bob", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let held: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(held["acquired"], false);
    assert_eq!(held["held_by"], "ada");

    // The holder renews it: same token.
    let renewed = json_ok(&weft(&[
        "lock",
        "acquire",
        "deploy/prod",
        "--owner",
        "ada",
        "--json",
    ]));
    assert_eq!(renewed["token"], token, "{renewed}");
    assert_eq!(renewed["renewed"], true, "{renewed}");
    let other = json_ok(&weft(&[
        "lock", "acquire", "nightly", "--owner", "cron", "--ttl", "10m", "--json",
    ]));
    let other_token = other["token"].as_u64().unwrap();
    assert!(other_token > token, "{other}");

    // List: both, by key, beside the daemon's own presence lock
    // (`weft/daemon/<instance>/<pid>-<start>`, owned by a JSON line naming its API).
    let listed = json_ok(&weft(&["lock", "list", "--json"]));
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3, "{listed}");
    assert_eq!(keys[..2], ["deploy/prod", "nightly"], "{listed}");
    assert!(keys[2].starts_with("weft/daemon/"), "{listed}");
    let presence: Value = serde_json::from_str(listed[2]["owner"].as_str().unwrap()).unwrap();
    assert_eq!(presence["api"], url, "{listed}");
    assert_eq!(listed[0]["owner"], "ada");
    let text = stdout(&weft(&["lock", "list"]));
    assert!(
        text.lines()
            .any(|l| l.starts_with("deploy/prod") && l.contains("ada")),
        "{text}"
    );

    // The API behind it: the 409 names the holder; a release needs a token.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{url}/v1/locks/nightly"))
        .send_json(json!({"owner": "eve", "ttl_ms": 1000}))
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body["held_by"], "cron", "{body}");
    assert!(body["expires_ms"].as_u64().unwrap() > 0, "{body}");
    let mut response = agent
        .delete(format!("{url}/v1/locks/nightly"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.body_mut().read_json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("?token=N"),
        "{body}"
    );
    let (status, body) = get_json(&format!("{url}/v1/locks"));
    assert_eq!((status, body["locks"].as_array().unwrap().len()), (200, 3));

    // Release: a wrong token is refused (409), the right one works once.
    let wrong = (token + 1000).to_string();
    let err = failed(&weft(&[
        "lock",
        "release",
        "deploy/prod",
        "--token",
        &wrong,
    ]));
    assert!(
        err.contains("held by ada with another token") && err.contains("409"),
        "{err}"
    );
    let out = weft(&[
        "lock",
        "release",
        "deploy/prod",
        "--token",
        &token.to_string(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("released lock `deploy/prod`"),
        "{out:?}"
    );
    let err = failed(&weft(&[
        "lock",
        "release",
        "deploy/prod",
        "--token",
        &token.to_string(),
    ]));
    assert!(err.contains("is not held"), "{err}");
    let err = failed(&weft(&["lock", "acquire", "bad key"]));
    assert!(
        err.contains("letters, digits") && err.contains("400"),
        "{err}"
    );

    let status = daemon.stop();
    assert!(status.success(), "SIGTERM: {status:?}");

    // Without a daemon: the same locks, in the state folder; the daemon
    // withdrew its presence when it stopped.
    let listed = json_ok(&weft_local(d, &["lock", "list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["key"], "nightly");
    let out = weft_local(d, &["lock", "acquire", "deploy/prod"]);
    assert!(out.status.success(), "{out:?}");
    let local_token: u64 = stdout(&out).trim().parse().unwrap();
    assert!(
        local_token > other_token,
        "tokens keep growing: {local_token}"
    );
    // The default owner is user@host:pid.
    let err = failed(&weft_local(
        d,
        &["lock", "acquire", "deploy/prod", "--owner", "x"],
    ));
    assert!(err.contains("is held by ") && err.contains('@'), "{err}");
    let out = weft_local(
        d,
        &[
            "lock",
            "release",
            "deploy/prod",
            "--token",
            &local_token.to_string(),
            "--json",
        ],
    );
    assert_eq!(json_ok(&out)["released"], true);
}
