//! 100 concurrent `POST /v1/runs` with one idempotency key, over real HTTP on
//! loopback, make exactly one run; every caller is told that run's id.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::sync::Arc;

use serde_json::{Value, json};
use weft_engine::{Engine, EngineOptions, FlowStatus};
use weft_flow::{ProjectConfig, compile_flow};
use weft_server::{AppState, Auth, Metrics, router, serve_tcp};

const PROJECT: &str =
    "id_prefix: idem\nplugins:\n  echo: { path: plugins/dist/echo.wasm, kind: step }\n";
const FLOW: &str = "id: once\ninputs:\n  n: { type: integer }\nsteps:\n  a: { uses: echo }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_sent_by_a_hundred_callers_at_once_makes_one_run() {
    let root = weft_tests::repo_root();
    let project = ProjectConfig::parse("weft.yaml", PROJECT, &root).unwrap();
    let flow = compile_flow("once.yaml", FLOW, &project).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(project, vec![flow], dir.path(), EngineOptions::default())
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::for_instance("node-a").unwrap());
    metrics.follow(&engine).await.unwrap();
    let counted = Arc::clone(&metrics);
    let flows = tokio::sync::watch::channel(FlowStatus::default()).1;
    let state = AppState::new(engine.clone(), metrics, Arc::new(Auth::disabled()), flows);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_tcp(router(state), listener, async {
        let _ = stopped.await;
    }));

    // A hundred OS threads, each with its own connection, released together.
    let gate = Arc::new(std::sync::Barrier::new(100));
    let answers = tokio::task::spawn_blocking(move || {
        let threads: Vec<_> = (0..100)
            .map(|_| {
                let (gate, url) = (Arc::clone(&gate), url.clone());
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let body = json!({"flow": "once", "input": {"n": 1}, "idempotency_key": "one"});
                    gate.wait();
                    let mut answer = agent
                        .post(format!("{url}/v1/runs"))
                        .send_json(body)
                        .unwrap();
                    let status = answer.status().as_u16();
                    (status, answer.body_mut().read_json::<Value>().unwrap())
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();

    let created: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(created.len(), 1, "exactly one caller created the run");
    let run_id = &created[0].1["run_id"];
    for (status, body) in &answers {
        assert!(*status == 201 || *status == 200, "{status} {body}");
        assert_eq!(&body["run_id"], run_id);
    }
    let runs = engine
        .store()
        .runs_list(1000, &Default::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    let text = counted.render(&engine).await.unwrap();
    assert!(
        text.lines()
            .any(|l| l == "weft_idempotency_hits_total{instance=\"node-a\"} 99"),
        "{text}"
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
