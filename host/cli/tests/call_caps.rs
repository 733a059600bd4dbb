//! A step's `max_model_calls` and `max_tool_calls`: the real `hostile-output`
//! plugin makes as many model calls (to `mock-model`) or tool calls (to
//! `echo`) as its input says and goes on past a refused one, so only the host
//! can fail the attempt; the call past the cap must do so, with a permanent
//! error recorded in the ledger, in process and through a `weft worker`.

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

/// A project whose flow `capped` runs `hostile-output` with
/// `max_model_calls: 3` and `max_tool_calls: 2`, and `free` the same step
/// with the defaults; a failed attempt is not retried.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["hostile-output", "echo", "mock-model", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: cc\nplugins:\n  big: { path: plugins/hostile-output.wasm, kind: step }\n  \
         echo: { path: plugins/echo.wasm, kind: step }\n  \
         mock-model: { path: plugins/mock-model.wasm, kind: model }\n  \
         exp-backoff:\n    path: plugins/exp-backoff.wasm\n    kind: retry\n    \
         config: { base_ms: 10, jitter_ms: 0, max_attempts: 1 }\n\
         models:\n  mock: { adapter: mock-model }\n\
         defaults:\n  retry: { strategy: exp-backoff }\n",
    )
    .unwrap();
    let inputs = "inputs:\n  model_calls: { type: integer }\n  tool_calls: { type: integer }\n  \
                  model: { type: string }\n  tool: { type: string }\n";
    std::fs::write(
        dir.join("flows/capped.yaml"),
        format!(
            "id: capped\n{inputs}steps:\n  go: {{ uses: big, timeout: 1m, max_model_calls: 3, max_tool_calls: 2 }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/free.yaml"),
        format!("id: free\n{inputs}steps:\n  go: {{ uses: big, timeout: 2m }}\n"),
    )
    .unwrap();
}

/// `weft run FLOW -i INPUT --json` in `dir`: the report.
fn run(dir: &Path, flow: &str, input: &Value) -> Value {
    let out = weft(dir, &["run", flow, "-i", &input.to_string(), "--json"]);
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

/// The attempt failed on the cap: a permanent `step-failed` whose error says
/// which call, the cap and the setting, no `step-succeeded`, and the task
/// dead-lettered without a retry.
fn assert_failed_on_cap(events: &[Value], call: &str, cap: u32, key: &str) {
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(!kinds.contains(&"step-succeeded"), "{kinds:?}");
    let failed = events
        .iter()
        .find(|e| e["type"] == "step-failed")
        .unwrap_or_else(|| panic!("no step-failed in {kinds:?}"));
    let error = failed["payload"]["error"].as_str().unwrap();
    let said = format!("asked for {call} {} but may make at most {cap}", cap + 1);
    assert!(
        error.contains("permanent error")
            && error.contains(&said)
            && error.contains(&format!("`{key}: {cap}`")),
        "{error}"
    );
    assert_eq!(failed["payload"]["attempt"], 1, "{failed}");
    assert!(kinds.contains(&"step-dead-lettered"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "step-started").count(), 1);
}

#[test]
fn in_process_the_call_past_a_cap_fails_the_attempt() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());

    let within = run(
        dir.path(),
        "capped",
        &json!({"model_calls": 3, "model": "mock"}),
    );
    assert_eq!(within["status"], "succeeded", "{within}");
    assert_eq!(within["output"], json!({"ok": 3, "first_error": null}));
    let within = run(dir.path(), "capped", &json!({"tool_calls": 2}));
    assert_eq!(within["output"], json!({"ok": 2, "first_error": null}));

    let over = run(
        dir.path(),
        "capped",
        &json!({"model_calls": 5, "model": "mock"}),
    );
    assert_ne!(over["status"], "succeeded", "{over}");
    let id = over["run_id"].as_str().unwrap();
    assert_failed_on_cap(&events(dir.path(), id), "model call", 3, "max_model_calls");

    let over = run(dir.path(), "capped", &json!({"tool_calls": 3}));
    let id = over["run_id"].as_str().unwrap();
    let ledger = events(dir.path(), id);
    assert_failed_on_cap(&ledger, "tool call", 2, "max_tool_calls");
    let tools = ledger.iter().filter(|e| e["type"] == "tool-called").count();
    assert_eq!(tools, 2, "the refused call ran no tool");

    // Without a cap of its own a step gets the default: 100.
    let over = run(
        dir.path(),
        "free",
        &json!({"model_calls": 101, "model": "mock"}),
    );
    let id = over["run_id"].as_str().unwrap();
    assert_failed_on_cap(
        &events(dir.path(), id),
        "model call",
        100,
        "max_model_calls",
    );
}

#[test]
fn a_cap_that_is_not_a_whole_number_from_0_is_refused_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    std::fs::write(
        dir.path().join("flows/bad.yaml"),
        "id: bad\nsteps:\n  go: { uses: big, max_model_calls: -1 }\n  \
         more: { uses: big, max_tool_calls: many }\n",
    )
    .unwrap();
    let out = weft(dir.path(), &["validate"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("-1 is out of range") && err.contains("steps.go.max_model_calls"),
        "{err}"
    );
    assert!(err.contains("flows/bad.yaml:3:"), "{err}");
    assert!(err.contains("steps.more.max_tool_calls"), "{err}");
}

#[test]
fn through_a_remote_worker_the_call_past_a_cap_fails_the_attempt() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let url = daemon.url.clone();
    let mut worker = Worker::start(&url, &["--concurrency", "1"]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut submitted = Vec::new();
    for input in [
        json!({"model_calls": 5, "model": "mock"}),
        json!({"tool_calls": 3}),
    ] {
        let mut response = agent
            .post(format!("{url}/v1/runs"))
            .send_json(json!({"flow": "capped", "input": input}))
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let sub: Value = response.body_mut().read_json().unwrap();
        submitted.push(sub["run_id"].as_str().unwrap().to_owned());
    }
    for (run, (call, cap, key)) in submitted.iter().zip([
        ("model call", 3, "max_model_calls"),
        ("tool call", 2, "max_tool_calls"),
    ]) {
        wait_for_run(&url, run, |page| {
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "step-dead-lettered" || e["type"] == "step-succeeded")
        });
        let (_, page) = get_json(&format!("{url}/v1/runs/{run}/events"));
        assert_failed_on_cap(page["events"].as_array().unwrap(), call, cap, key);
    }
    worker.signal("-TERM");
    assert!(worker.wait().success());
}
