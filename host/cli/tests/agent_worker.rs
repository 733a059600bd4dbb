//! The `agent` step on a `weft worker` process against a real daemon: the
//! worker runs the agent, forwards its model calls and its tool calls to the
//! daemon (which journals the first and runs and records the second), and the
//! output is the one an in-process worker gives (`host/engine/tests/agent.rs`
//! checks the same output).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;

use serde_json::{Value, json};
use weft_tests::plugin_path;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/worker.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod worker_support;

use daemon_support::Daemon;
use worker_support::Worker;

fn api() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn call(api: &ureq::Agent, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut response = match body {
        Some(body) => api.post(url).send_json(body).unwrap(),
        None => api.get(url).call().unwrap(),
    };
    let status = response.status().as_u16();
    (status, response.body_mut().read_json::<Value>().unwrap())
}

/// A project with the agent, a json-transform tool and a mock model that asks
/// for two tool calls before it answers.
fn write_agent_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["agent", "json-transform", "mock-model"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: agt
plugins:
  agent: { path: plugins/agent.wasm, kind: step }
  json-transform: { path: plugins/json-transform.wasm, kind: step }
  mock-model: { path: plugins/mock-model.wasm, kind: model }
models:
  twice: { adapter: mock-model, config: { tool_calls: 2 } }
",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/ask.yaml"),
        "id: ask
inputs:
  prompt: { type: string }
steps:
  ask:
    uses: agent
    model: twice
    with:
      tools:
        - { name: stamp, uses: json-transform, with: { set: { stamped: true } } }
",
    )
    .unwrap();
}

#[test]
fn an_agent_on_a_remote_worker_calls_its_tools_through_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    write_agent_project(dir.path());
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let url = daemon.url.clone();
    let _worker = Worker::start(&url, &["--concurrency", "1", "--lease", "30s"]);
    let api = api();

    let body = json!({"flow": "ask", "input": {"prompt": "check invoice 42"}});
    let (status, sub) = call(&api, &format!("{url}/v1/runs"), Some(body));
    assert_eq!(status, 201, "{sub}");
    let run = sub["run_id"].as_str().unwrap();
    let (status, got) = call(&api, &format!("{url}/v1/runs/{run}?wait=60"), None);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["run"]["status"], "succeeded", "{got}");

    let out = &got["run"]["output"];
    assert_eq!(out["turns"], 3, "{out}");
    let stamped = json!({"text": "check invoice 42", "stamped": true});
    let call_record =
        json!({"tool": "stamp", "input": {"text": "check invoice 42"}, "output": stamped});
    assert_eq!(
        out["tool_calls"],
        json!([call_record, call_record]),
        "{out}"
    );
    let answer = out["answer"].as_str().unwrap();
    let expected = format!(
        "mock answer after 2 tool calls: {}",
        json!({"tool": "stamp", "output": stamped})
    );
    assert_eq!(answer, expected);

    let (_, got) = call(&api, &format!("{url}/v1/runs/{run}/events"), None);
    let events = got["events"].as_array().unwrap();
    let of = |kind: &str| events.iter().filter(|e| e["type"] == kind).count();
    assert_eq!(of("model-call-journaled"), 3, "{events:?}");
    assert_eq!(of("tool-called"), 2, "{events:?}");
    let (status, verify) = call(&api, &format!("{url}/v1/runs/{run}/verify"), None);
    assert_eq!(status, 200, "{verify}");
    assert_eq!(verify["ok"], true, "{verify}");
}
