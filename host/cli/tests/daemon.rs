//! `weft daemon` as a real process on loopback: runs submitted over HTTP finish
//! on its in-process workers and their ledgers verify; idempotency keys, errors,
//! the Unix socket, and `/metrics` parsed as Prometheus text; SIGTERM stops it
//! cleanly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};

#[path = "common/daemon.rs"]
mod daemon_support;

use daemon_support::{Daemon, write_project};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, JSON body).
fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut response = match (method, body) {
        ("POST", Some(body)) => agent.post(url).send_json(body).unwrap(),
        ("POST", None) => agent.post(url).send_empty().unwrap(),
        ("GET", _) => agent.get(url).call().unwrap(),
        other => panic!("unsupported {other:?}"),
    };
    let status = response.status().as_u16();
    let json = response.body_mut().read_json::<Value>().unwrap();
    (status, json)
}

fn metric(samples: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
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

#[test]
fn the_daemon_runs_flows_over_http_and_counts_them_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let daemon = Daemon::start(dir.path());
    let api = agent();
    let url = &daemon.url;

    const RUNS: usize = 12;
    let mut ids = Vec::new();
    for n in 0..RUNS {
        let body = json!({"flow": "chain", "input": {"n": n}});
        let (status, sub) = call(&api, "POST", &format!("{url}/v1/runs"), Some(body));
        assert_eq!(status, 201, "{sub}");
        assert_eq!(sub["created"], true);
        ids.push(sub["run_id"].as_str().unwrap().to_owned());
    }
    // An idempotency key names its first run.
    let keyed = json!({"flow": "chain", "input": {"n": 99}, "idempotency_key": "k-1"});
    let (first, a) = call(&api, "POST", &format!("{url}/v1/runs"), Some(keyed.clone()));
    let (again, b) = call(&api, "POST", &format!("{url}/v1/runs"), Some(keyed));
    assert_eq!((first, again), (201, 200));
    assert_eq!(a["run_id"], b["run_id"]);
    assert_eq!(b["created"], false);
    ids.push(a["run_id"].as_str().unwrap().to_owned());
    let other = json!({"flow": "chain", "input": {"n": 100}, "idempotency_key": "k-1"});
    let (status, err) = call(&api, "POST", &format!("{url}/v1/runs"), Some(other));
    assert_eq!(status, 409, "{err}");
    assert!(err["error"].as_str().unwrap().contains("k-1"), "{err}");

    for id in &ids {
        let (status, got) = call(&api, "GET", &format!("{url}/v1/runs/{id}?wait=60"), None);
        assert_eq!(status, 200);
        assert_eq!(got["run"]["status"], "succeeded", "{got}");
        assert_eq!(got["outputs"].as_object().unwrap().len(), 3);
        let (_, report) = call(&api, "GET", &format!("{url}/v1/runs/{id}/verify"), None);
        assert_eq!(report["ok"], true, "{report}");
        let (_, events) = call(&api, "GET", &format!("{url}/v1/runs/{id}/events"), None);
        let succeeded = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "step-succeeded")
            .count();
        assert_eq!(succeeded, 3, "each step once");
    }
    let (_, listed) = call(
        &api,
        "GET",
        &format!("{url}/v1/runs?flow=chain&status=succeeded"),
        None,
    );
    assert_eq!(listed["runs"].as_array().unwrap().len(), RUNS + 1);

    // Clear errors, no data.
    let (status, err) = call(
        &api,
        "POST",
        &format!("{url}/v1/runs"),
        Some(json!({"flow": "nope"})),
    );
    assert_eq!(status, 404, "{err}");
    let (status, _) = call(
        &api,
        "GET",
        &format!("{url}/v1/runs/dmn-2020-01-01-001-abc"),
        None,
    );
    assert_eq!(status, 404);
    let (status, err) = call(
        &api,
        "POST",
        &format!("{url}/v1/runs"),
        Some(json!({"flw": "chain"})),
    );
    assert_eq!(status, 400, "{err}");
    let (status, err) = call(
        &api,
        "POST",
        &format!("{url}/v1/runs"),
        Some(json!({"flow": "chain", "input": {}})),
    );
    assert_eq!(status, 400, "a missing required input: {err}");
    // A finished run cannot be cancelled; a task that is not dead-lettered
    // cannot be requeued: both are conflicts, said plainly.
    let first = &ids[0];
    let (status, err) = call(&api, "POST", &format!("{url}/v1/runs/{first}/cancel"), None);
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains(first.as_str()),
        "{err}"
    );
    let (_, got) = call(&api, "GET", &format!("{url}/v1/runs/{first}"), None);
    let task = got["tasks"][0]["id"].as_u64().unwrap();
    let (status, err) = call(&api, "POST", &format!("{url}/v1/dlq/{task}/requeue"), None);
    assert_eq!(status, 409, "{err}");

    let (_, stats) = call(&api, "GET", &format!("{url}/v1/queue/stats"), None);
    assert_eq!(stats["depth"], 0, "{stats}");
    assert_eq!(stats["inflight"], 0, "{stats}");

    let text = api
        .get(&format!("{url}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let runs = metric(
        &scrape,
        "weft_runs_total",
        &[("flow", "chain"), ("status", "succeeded")],
    );
    assert_eq!(runs, (RUNS + 1) as f64);
    let steps = metric(&scrape, "weft_tasks_completed_total", &[("flow", "chain")]);
    assert_eq!(steps, (3 * (RUNS + 1)) as f64);
    assert_eq!(metric(&scrape, "weft_idempotency_hits_total", &[]), 1.0);
    let enqueued = metric(&scrape, "weft_tasks_enqueued_total", &[]);
    assert_eq!(enqueued, (3 * (RUNS + 1)) as f64);
    assert_eq!(metric(&scrape, "weft_queue_inflight", &[]), 0.0);
    assert_eq!(metric(&scrape, "weft_workers_live", &[]), 4.0);
    let durations = scrape
        .samples
        .iter()
        .find(|s| s.metric == "weft_run_duration_seconds" && s.labels.get("flow") == Some("chain"))
        .map(|s| match &s.value {
            prometheus_parse::Value::Histogram(h) => h.last().map(|b| b.count).unwrap_or(0.0),
            other => panic!("not a histogram: {other:?}"),
        });
    assert_eq!(durations, Some((RUNS + 1) as f64));

    // Schedules: listed, paused, triggered by hand (a yearly line never fires
    // during the test on its own).
    let (_, listed) = call(&api, "GET", &format!("{url}/v1/schedules"), None);
    let schedules = listed["schedules"].as_array().unwrap();
    assert_eq!(schedules.len(), 1, "{listed}");
    assert_eq!(schedules[0]["cron"], "0 0 0 1 1 *");
    let (status, paused) = call(
        &api,
        "POST",
        &format!("{url}/v1/schedules/chain/0/pause"),
        None,
    );
    assert_eq!((status, &paused["paused"]), (200, &json!(true)), "{paused}");
    let (status, fired) = call(
        &api,
        "POST",
        &format!("{url}/v1/schedules/chain/0/trigger"),
        None,
    );
    assert_eq!(status, 200, "{fired}");
    assert!(
        fired["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with("cron:chain:manual:")
    );
    let run = fired["run_id"].as_str().unwrap();
    let (_, got) = call(&api, "GET", &format!("{url}/v1/runs/{run}?wait=60"), None);
    assert_eq!(got["run"]["status"], "succeeded", "{got}");
    assert_eq!(got["run"]["input"]["n"], 7);
    let (_, listed) = call(&api, "GET", &format!("{url}/v1/schedules"), None);
    assert_eq!(listed["schedules"][0]["paused"], true, "{listed}");
    assert_eq!(listed["schedules"][0]["fires"], 1, "{listed}");
    let (status, _) = call(
        &api,
        "POST",
        &format!("{url}/v1/schedules/chain/5/trigger"),
        None,
    );
    assert_eq!(status, 404);
    let text = api
        .get(&format!("{url}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(metric(&scrape, "weft_schedule_fires_total", &[]), 1.0);

    // The same API on the Unix socket, which only its owner may open.
    let socket = dir.path().join("weft.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream
        .write_all(b"GET /v1/queue/stats HTTP/1.1\r\nHost: weft\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"inflight\":0"), "{answer}");

    let status = daemon.stop();
    assert!(status.success(), "SIGTERM: {status:?}");
    assert!(!socket.exists(), "the socket file is removed on exit");
}
