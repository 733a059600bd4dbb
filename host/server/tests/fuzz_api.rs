#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! Fuzzing the daemon's API: a real router on a real loopback listener gets
//! fuzzed paths, query strings and bodies on every route (see
//! `fuzz_api/requests.rs`). Every request must be answered (a 4xx is fine);
//! a dropped connection (a handler that panicked), a hang or a 5xx (but the
//! search endpoints' documented 500 without an index) is a failure. After the
//! loop the daemon still serves a normal request.

#[path = "fuzz_api/requests.rs"]
mod requests;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use weft_engine::{Engine, EngineOptions, FlowStatus};
use weft_flow::{ProjectConfig, compile_flow};
use weft_fuzz::Unstructured;
use weft_server::{AppState, Auth, Metrics, router, serve_tcp};

use requests::{Known, Request, request};

const PROJECT: &str = "id_prefix: fuzz
plugins:
  echo: { path: plugins/dist/echo.wasm, kind: step }
  mock-model: { path: plugins/dist/mock-model.wasm, kind: model }
models:
  mock: { adapter: mock-model }
";
const FLOW: &str = "id: once
inputs:
  n: { type: integer }
steps:
  a: { uses: echo, model: mock }
  b: { uses: echo, needs: [a], with: { v: \"${{ steps.a.output }}\" } }
schedule:
  - cron: \"0 0 * * * *\"
    input: { n: 1 }
    missed: skip
";

/// The "status" of a request the client could not form.
const UNSENT: u16 = 0;
/// The "status" of a request whose connection closed before an answer, the
/// daemon still alive.
const CLOSED: u16 = 1;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// Whether the daemon answers `GET /healthz` (on a connection of its own).
fn alive(url: &str) -> bool {
    agent()
        .get(format!("{url}/healthz"))
        .call()
        .is_ok_and(|r| r.status().as_u16() == 200)
}

/// Send `req`; `Err` with what went wrong if the daemon did not answer
/// properly. A connection closed under a request (the daemon answered a
/// refusal before reading a body, and closed) is not an error while the
/// daemon lives on; a handler's panic is caught by the harness however the
/// connection ends (it counts panics on every thread).
fn send(agent: &ureq::Agent, url: &str, req: &Request) -> Result<u16, String> {
    let uri = format!("{url}{}", req.target);
    // A target the client itself cannot form is no request at all.
    if uri.parse::<ureq::http::Uri>().is_err() {
        return Ok(UNSENT);
    }
    let answer = match (req.method, &req.body) {
        ("GET", _) => agent.get(&uri).call(),
        ("DELETE", _) => agent.delete(&uri).call(),
        (method, body) => {
            let builder = match method {
                "PUT" => agent.put(&uri),
                _ => agent.post(&uri),
            };
            match body {
                Some((bytes, true)) => builder.content_type("application/json").send(&bytes[..]),
                Some((bytes, false)) => builder.send(&bytes[..]),
                None => builder.send_empty(),
            }
        }
    };
    let mut answer = match answer {
        Ok(answer) => answer,
        Err(_) if alive(url) => return Ok(CLOSED),
        Err(e) => return Err(format!("no answer ({e}) to {} {}", req.method, req.target)),
    };
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_default();
    let search = req.route.starts_with("/v1/search") || req.route.starts_with("/v1/index");
    if status >= 500 && !(search && status == 500) {
        return Err(format!("{status} to {} {}: {text}", req.method, req.target));
    }
    Ok(status)
}

#[test]
fn fuzz_every_route_of_the_daemon() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let root = weft_tests::repo_root();
    let project = ProjectConfig::parse("weft.yaml", PROJECT, &root).unwrap();
    let flow = compile_flow("once.yaml", FLOW, &project).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = rt
        .block_on(Engine::open_with(
            project,
            vec![flow],
            dir.path(),
            EngineOptions::default(),
        ))
        .unwrap();
    let metrics = Arc::new(Metrics::for_instance("fuzz").unwrap());
    rt.block_on(metrics.follow(&engine)).unwrap();
    let flows = tokio::sync::watch::channel(FlowStatus::default()).1;
    let state = AppState::new(engine.clone(), metrics, Arc::new(Auth::disabled()), flows);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(serve_tcp(router(state), listener, async {
        let _ = stopped.await;
    }));

    // Runs, leased tasks and an artifact, so that fuzzed requests reach the
    // handlers' real work and not only their "not found".
    let agent = agent();
    let mut known = Known {
        flows: vec!["once".into()],
        ..Known::default()
    };
    for n in 0..4 {
        let mut answer = agent
            .post(format!("{url}/v1/runs"))
            .send_json(json!({"flow": "once", "input": {"n": n}}))
            .unwrap();
        assert_eq!(answer.status().as_u16(), 201);
        let body: Value = answer.body_mut().read_json().unwrap();
        known.runs.push(body["run_id"].as_str().unwrap().to_owned());
    }
    for _ in 0..3 {
        let mut answer = agent
            .post(format!("{url}/v1/worker/lease"))
            .send_json(json!({"worker": "w", "owner": "o", "lease_ms": 600000, "wait_ms": 0}))
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        let body: Value = answer.body_mut().read_json().unwrap();
        let task = &body["task"];
        known.leases.push((
            task["task"].as_u64().unwrap(),
            task["token"].as_u64().unwrap(),
        ));
    }
    let (task, token) = known.leases[0];
    let put = agent
        .post(format!("{url}/v1/worker/tasks/{task}/artifact-put"))
        .send_json(json!({"token": token, "key": "report", "value": "{\"a\":1}"}))
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    known.artifacts.push("report".into());

    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    weft_fuzz::run("daemon-api", 1500, |bytes| {
        let req = request(&mut Unstructured::new(bytes), &known);
        match send(&agent, &url, &req) {
            Ok(status) => *statuses.entry(status).or_default() += 1,
            Err(failure) => panic!("{failure}"),
        }
    });
    println!("weft-fuzz daemon-api statuses: {statuses:?}");
    // Both answers and refusals were seen: the requests reached the handlers.
    assert!(
        statuses.keys().any(|s| (200..300).contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.keys().any(|s| (400..500).contains(s)),
        "{statuses:?}"
    );

    // The daemon is still alive and serves a normal request.
    assert!(!server.is_finished(), "the server stopped");
    let mut health = agent.get(format!("{url}/healthz")).call().unwrap();
    assert_eq!(health.body_mut().read_to_string().unwrap(), "ok\n");
    let created = agent
        .post(format!("{url}/v1/runs"))
        .send_json(json!({"flow": "once", "input": {"n": 9}}))
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let _ = stop.send(());
    rt.block_on(server).unwrap().unwrap();
}
