//! weft.yaml `limits:` on the artifacts a step stores and the error messages
//! the host keeps, with the real `hostile-output` plugin asked (by its input)
//! for a 20 MiB artifact, a 300-byte key or a 50 MiB error: refused with
//! `invalid-input` / cut with a marker, in process (`weft run`) and through a
//! real `weft worker` process. The retry strategy still decides on a cut
//! message (a whole one made it hit its memory cap).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;

use serde_json::{Value, json};
use weft_tests::plugin_path;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/worker.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod worker_support;

use common::{text, weft};
use daemon_support::{Daemon, get_json, wait_for_run};
use worker_support::Worker;

const MIB: usize = 1024 * 1024;
/// The default caps (docs/flows.md).
const DEFAULT_ERROR_CAP: usize = 64 * 1024;

/// A project whose flow `art` runs `hostile-output` once, dead-lettered after
/// one failed attempt; `limits` is its weft.yaml `limits:` line, if any.
fn write_project(dir: &Path, limits: &str) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["hostile-output", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        format!(
            "id_prefix: cap\n{limits}\nplugins:\n  big: {{ path: plugins/hostile-output.wasm, kind: step }}\n  \
             exp-backoff:\n    path: plugins/exp-backoff.wasm\n    kind: retry\n    \
             config: {{ base_ms: 10, jitter_ms: 0, max_attempts: 1 }}\n\
             defaults:\n  retry: {{ strategy: exp-backoff }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/art.yaml"),
        "id: art\ninputs:\n  artifact: { type: object }\n  error_bytes: { type: integer }\n\
         steps:\n  put: { uses: big, timeout: 2m }\n",
    )
    .unwrap();
}

/// `weft run art -i INPUT --json` in `dir`: the report.
fn run_art(dir: &Path, input: &Value) -> Value {
    let out = weft(dir, &["run", "art", "-i", &input.to_string(), "--json"]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", text(&out.stderr)))
}

/// The run's ledger events, from `weft runs tail --json` in `dir`.
fn events(dir: &Path, run: &str) -> Vec<Value> {
    let out = weft(dir, &["runs", "tail", run, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What `artifact-put` answered, from the step's output.
fn put_answer(output: &Value) -> &Value {
    &output["artifact_put"]
}

/// A refusal of kind `invalid-input` whose message says `cap` and `setting`.
fn assert_refused(answer: &Value, cap: &str, setting: &str) {
    assert_eq!(answer["kind"], "invalid-input", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains(cap) && message.contains(setting),
        "{message}"
    );
}

/// The `step-failed` error and the dead-letter reason of a run whose step
/// failed with an error of `bytes` letters, each checked against `cap`.
fn assert_error_cut(events: &[Value], bytes: usize, cap: usize) {
    // The event keeps the attempt's error as shown (`transient error: …`);
    // the strategy gets the plugin's own message.
    let shown = bytes + "transient error: ".len();
    let marker = format!("[truncated {shown} bytes to {cap}]");
    let failed = events
        .iter()
        .find(|e| e["type"] == "step-failed")
        .expect("a step-failed event");
    let error = failed["payload"]["error"].as_str().unwrap();
    assert!(error.len() < cap + 200, "{} bytes kept", error.len());
    assert!(error.ends_with(&marker), "{}", &error[error.len() - 80..]);
    // The strategy decided on the cut message (it gives up after one attempt).
    let dead = events
        .iter()
        .find(|e| e["type"] == "step-dead-lettered")
        .expect("dead-lettered by the strategy");
    let reason = dead["payload"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("gave up after 1 attempts: transient error: eee"),
        "{}",
        &reason[..reason.len().min(200)]
    );
    let marker = format!("[truncated {bytes} bytes to {cap}]");
    assert!(reason.contains(&marker) && reason.len() < cap + 1200);
}

#[test]
fn in_process_an_artifact_or_key_over_the_cap_is_refused_and_an_error_cut() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), "");

    let big = run_art(dir.path(), &json!({"artifact": {"value_bytes": 20 * MIB}}));
    assert_eq!(big["status"], "succeeded", "{big}");
    assert_refused(
        put_answer(&big["output"]),
        "16777216",
        "limits.artifact_bytes",
    );
    let long_key = run_art(dir.path(), &json!({"artifact": {"key_bytes": 300}}));
    assert_refused(
        put_answer(&long_key["output"]),
        "cap of 256 bytes",
        "limits.artifact_key_bytes",
    );
    let fine = run_art(dir.path(), &json!({"artifact": {}}));
    assert_eq!(put_answer(&fine["output"]), "ok", "{fine}");
    for (report, stored) in [(&big, 0), (&long_key, 0), (&fine, 1)] {
        let run = report["run_id"].as_str().unwrap();
        let out = weft(dir.path(), &["runs", "artifacts", run, "--json"]);
        let artifacts: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(artifacts.as_object().unwrap().len(), stored, "{artifacts}");
    }

    let bytes = 50 * MIB;
    let failed = run_art(dir.path(), &json!({"error_bytes": bytes}));
    let run = failed["run_id"].as_str().unwrap();
    assert_error_cut(&events(dir.path(), run), bytes, DEFAULT_ERROR_CAP);
}

#[test]
fn caps_set_in_weft_yaml_are_the_ones_enforced() {
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        "limits: { artifact_bytes: 1000, artifact_key_bytes: 4, error_message_bytes: 300 }",
    );
    let big = run_art(
        dir.path(),
        &json!({"artifact": {"key_bytes": 4, "value_bytes": 999}}),
    );
    assert_refused(
        put_answer(&big["output"]),
        "cap of 1000 bytes",
        "limits.artifact_bytes",
    );
    let key = run_art(dir.path(), &json!({"artifact": {"key_bytes": 5}}));
    assert_refused(
        put_answer(&key["output"]),
        "cap of 4 bytes",
        "limits.artifact_key_bytes",
    );
    let fits = run_art(
        dir.path(),
        &json!({"artifact": {"key_bytes": 4, "value_bytes": 998}}),
    );
    assert_eq!(put_answer(&fits["output"]), "ok", "{fits}");
    let failed = run_art(dir.path(), &json!({"error_bytes": 5000}));
    let run = failed["run_id"].as_str().unwrap();
    assert_error_cut(&events(dir.path(), run), 5000, 300);

    let out = weft(dir.path(), &["validate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(
        dir.path().join("weft.yaml"),
        std::fs::read_to_string(dir.path().join("weft.yaml"))
            .unwrap()
            .replace("error_message_bytes: 300", "error_message_bytes: 10"),
    )
    .unwrap();
    let out = weft(dir.path(), &["validate"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("weft.yaml:2") && err.contains("limits.error_message_bytes"),
        "{err}"
    );
}

/// Submits `art` with `input` to the daemon at `url`; the run id.
fn submit(url: &str, input: &Value) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{url}/v1/runs"))
        .send_json(json!({"flow": "art", "input": input}))
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let sub: Value = response.body_mut().read_json().unwrap();
    sub["run_id"].as_str().unwrap().to_owned()
}

#[test]
fn through_a_remote_worker_the_same_caps_hold() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), "");
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let url = daemon.url.clone();
    let mut worker = Worker::start(&url, &["--concurrency", "1"]);

    let big = submit(&url, &json!({"artifact": {"value_bytes": 20 * MIB}}));
    let long_key = submit(&url, &json!({"artifact": {"key_bytes": 300}}));
    let bytes = 50 * MIB;
    let failed = submit(&url, &json!({"error_bytes": bytes}));
    for run in [&big, &long_key] {
        wait_for_run(&url, run, |page| page["status"] == "succeeded");
    }
    let (_, got) = get_json(&format!("{url}/v1/runs/{big}"));
    assert_refused(
        put_answer(&got["run"]["output"]),
        "16777216",
        "limits.artifact_bytes",
    );
    let (_, got) = get_json(&format!("{url}/v1/runs/{long_key}"));
    assert_refused(
        put_answer(&got["run"]["output"]),
        "cap of 256 bytes",
        "limits.artifact_key_bytes",
    );
    wait_for_run(&url, &failed, |page| {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "step-dead-lettered")
    });
    let (_, page) = get_json(&format!("{url}/v1/runs/{failed}/events"));
    assert_error_cut(page["events"].as_array().unwrap(), bytes, DEFAULT_ERROR_CAP);
    worker.signal("-TERM");
    assert!(worker.wait().success());
}
