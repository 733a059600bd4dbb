//! A real `weft daemon` whose model `gpt` is served by the `openai-compat`
//! adapter at a fake provider that answers 500: the first run fails at the
//! provider and opens the circuit (`failures: 1`), the second fails fast, and
//! `/metrics` shows both outcomes and the open circuit, and so does
//! `GET /v1/pools` (what `weft pools` prints).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;

use serde_json::{Value, json};
use weft_fake_provider::{FakeProvider, Reply};
use weft_tests::plugin_path;

#[path = "common/daemon.rs"]
mod daemon_support;

use daemon_support::{Daemon, wait_for_run};

fn write_project(dir: &Path, fake: &FakeProvider) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["prompt", "openai-compat"] {
        let to = dir.join(format!("plugins/{name}.wasm"));
        std::fs::copy(plugin_path(name), to).unwrap();
    }
    let yaml = format!(
        r#"id_prefix: mm
plugins:
  prompt: {{ path: plugins/prompt.wasm, kind: step }}
  openai-compat: {{ path: plugins/openai-compat.wasm, kind: model }}
models:
  gpt:
    adapter: openai-compat
    config: {{ endpoint: "{}", model: gpt-test }}
    allowed_hosts: ["{}"]
    circuit: {{ failures: 1, cool_down: 1h }}
"#,
        fake.base_url(),
        fake.host_port()
    );
    std::fs::write(dir.join("weft.yaml"), yaml).unwrap();
    let flow = "id: ask\ninputs:\n  q: { type: string, required: true }\nsteps:\n  ask:\n    uses: prompt\n    model: gpt\n    with: { template: \"Answer: {{q}}\" }\n";
    std::fs::write(dir.join("flows/ask.yaml"), flow).unwrap();
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Submits `ask` and waits until it failed; its error.
fn failed_run(url: &str) -> String {
    let mut resp = agent()
        .post(format!("{url}/v1/runs"))
        .send_json(json!({"flow": "ask", "input": {"q": "hi"}}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let sub: Value = resp.body_mut().read_json().unwrap();
    let run = sub["run_id"].as_str().unwrap().to_owned();
    wait_for_run(url, &run, |page| page["status"] == "failed");
    let mut resp = agent().get(format!("{url}/v1/runs/{run}")).call().unwrap();
    let got: Value = resp.body_mut().read_json().unwrap();
    got["run"]["error"].as_str().unwrap_or_default().to_owned()
}

fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("{name} is not a plain value"),
        })
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_outcomes_and_the_open_circuit_show_in_metrics() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::ServerError);
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), &fake);
    let root = dir.path().to_owned();
    let (first, second, text, pools) = tokio::task::spawn_blocking(move || {
        let daemon = Daemon::start(&root);
        let first = failed_run(&daemon.url);
        let second = failed_run(&daemon.url);
        let get = |path: &str| {
            agent()
                .get(format!("{}{path}", daemon.url))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap()
        };
        let text = get("/metrics");
        let pools: serde_json::Value = serde_json::from_str(&get("/v1/pools")).unwrap();
        (first, second, text, pools)
    })
    .await
    .unwrap();
    assert!(first.contains("500"), "{first}");
    assert!(second.contains("circuit open"), "{second}");
    assert_eq!(
        fake.request_count(),
        1,
        "the open circuit let a call through"
    );

    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let requests = |outcome| {
        value(
            &scrape,
            "weft_model_requests_total",
            &[("model", "gpt"), ("outcome", outcome)],
        )
    };
    assert_eq!(requests("transient"), 1.0);
    assert_eq!(requests("circuit_open"), 1.0);
    assert_eq!(
        value(&scrape, "weft_circuit_open", &[("model", "gpt")]),
        1.0
    );

    // `weft pools` (GET /v1/pools) shows the breaker too.
    let circuit = &pools["circuits"][0];
    assert_eq!(circuit["model"], "gpt", "{pools}");
    assert_eq!(circuit["state"], "open", "{pools}");
    assert_eq!(circuit["consecutive_failures"], 1, "{pools}");
}
