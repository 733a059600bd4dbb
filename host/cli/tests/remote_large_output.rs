//! A step output larger than axum's default 2 MiB body limit, over the remote
//! path: a real `weft worker` process runs the `hostile-output` plugin with a
//! 3 MiB output (under the sandbox's 4 MiB cap, so the in-process path takes
//! it) and the daemon records it on the first attempt, instead of refusing the
//! report and handing the task out again each time its lease runs out.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;

use serde_json::Value;
use weft_tests::plugin_path;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/worker.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod worker_support;

use daemon_support::{Daemon, get_json};
use worker_support::Worker;

const BYTES: usize = 3 * 1024 * 1024;

fn write_big_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::copy(plugin_path("hostile-output"), dir.join("plugins/big.wasm")).unwrap();
    std::fs::write(
        dir.join("weft.yaml"),
        format!(
            "id_prefix: big\nplugins:\n  big: {{ path: plugins/big.wasm, kind: step, config: {{ bytes: {BYTES} }} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/big.yaml"),
        "id: big\nsteps:\n  out: { uses: big, timeout: 1m }\n",
    )
    .unwrap();
}

#[test]
fn a_three_mib_output_from_a_remote_worker_is_recorded_on_the_first_attempt() {
    let dir = tempfile::tempdir().unwrap();
    write_big_project(dir.path());
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let url = daemon.url.clone();
    let mut worker = Worker::start(&url, &["--concurrency", "1", "--lease", "5s"]);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{url}/v1/runs"))
        .send_json(serde_json::json!({"flow": "big", "input": {}}))
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let sub: Value = response.body_mut().read_json().unwrap();
    let run = sub["run_id"].as_str().unwrap().to_owned();

    let mut response = agent
        .get(format!("{url}/v1/runs/{run}?wait=60"))
        .call()
        .unwrap();
    let got: Value = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_json()
        .unwrap();
    assert_eq!(got["run"]["status"], "succeeded", "{}", got["run"]["error"]);
    let output = got["run"]["output"].to_string();
    assert!(output.len() > BYTES, "{} bytes of output", output.len());

    let (_, events) = get_json(&format!("{url}/v1/runs/{run}/events"));
    let events = events["events"].as_array().unwrap().clone();
    let started = events
        .iter()
        .filter(|e| e["type"] == "step-started")
        .count();
    assert_eq!(started, 1, "one lease, one attempt");
    assert!(events.iter().all(|e| e["type"] != "lease-expired"));
    worker.signal("-TERM");
    assert!(worker.wait().success());
}
