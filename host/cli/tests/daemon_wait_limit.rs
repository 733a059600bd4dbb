//! The API's long polls take `wait` up to 300 seconds and refuse more with a
//! `400` that says the limit, instead of waiting 300 s without a word; `weft
//! enqueue --wait` refuses it before it submits anything. A real daemon.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use serde_json::{Value, json};

#[path = "common/daemon.rs"]
mod daemon_support;

use daemon_support::{Daemon, get_json, weft_via, write_project};

#[test]
fn a_wait_over_300_seconds_is_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let daemon = Daemon::start(dir.path());
    let url = &daemon.url;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{url}/v1/runs"))
        .send_json(json!({"flow": "chain", "input": {"n": 1}}))
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let run = response.body_mut().read_json::<Value>().unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    for path in [
        format!("/v1/runs/{run}?wait=301"),
        format!("/v1/runs/{run}/events?wait=301"),
        "/v1/flows?wait=301".to_owned(),
    ] {
        let (status, body) = get_json(&format!("{url}{path}"));
        assert_eq!(status, 400, "{path}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains("wait=301") && error.contains("limit of 300 seconds"),
            "{path}: {error}"
        );
    }
    // 300 itself is a wait: it answers when the run is over.
    let (status, body) = get_json(&format!("{url}/v1/runs/{run}?wait=300"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["run"]["status"], "succeeded", "{body}");

    let before = get_json(&format!("{url}/v1/runs")).1["runs"]
        .as_array()
        .unwrap()
        .len();
    let out = weft_via(
        dir.path(),
        url,
        &["enqueue", "chain", "-i", r#"{"n":2}"#, "--wait", "301"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("301") && err.contains("0..=300"), "{err}");
    let after = get_json(&format!("{url}/v1/runs")).1["runs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "nothing was submitted");
}
