//! kill -9 mid-run: a child process (this test binary, re-invoked) runs the
//! engine and is killed with SIGKILL while a step is in flight; the parent
//! resumes the run from the same store. Finished steps are not repeated.
//!
//! - `a_killed_run_resumes_without_repeating_steps`: the child's `work` plugin
//!   never returns (hostile-loop), so the kill always lands mid-step; the
//!   parent's `work` is echo, so the resumed run can finish.
//! - `a_killed_agent_step_resumes_with_its_journaled_model_call`: `work` is an
//!   agent step (slow-agent) that asks the model through the host, then spins
//!   (child) or returns (parent). The child is killed right after the call was
//!   journaled; the resumed step gets the journaled answer and the adapter is
//!   not called again.
//!
//! Each runs on the embedded redb store and on a real PostgreSQL
//! (`weft-pg-harness`); the `_on_postgres` variants hand the child the
//! database's URL in `WEFT_ENGINE_CRASH_PG_URL`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;
use weft_engine::{Engine, EngineOptions, ProgressEvent};
use weft_flow::{CompiledFlow, ProjectConfig};
use weft_pg_harness::{PgServer, unique_name};
use weft_store_api::{RunStatus, SharedStore};
use weft_store_postgres::{PgConfig, PgStore};

const CHILD_ENV: &str = "WEFT_ENGINE_CRASH_CHILD";
const AGENT_CHILD_ENV: &str = "WEFT_ENGINE_AGENT_CRASH_CHILD";
/// Set for a child whose store is PostgreSQL: the database's URL.
const PG_URL_ENV: &str = "WEFT_ENGINE_CRASH_PG_URL";

/// Where a test keeps its store.
#[derive(Clone)]
enum Backend {
    /// The embedded redb file of the state folder.
    Redb,
    /// A database of the shared PostgreSQL server, by URL.
    Postgres(String),
}

impl Backend {
    /// The child's backend: PostgreSQL if the parent named a database.
    fn of_child() -> Self {
        std::env::var(PG_URL_ENV).map_or(Self::Redb, Self::Postgres)
    }

    /// A fresh database on the shared PostgreSQL server.
    fn fresh_postgres(prefix: &str) -> Self {
        let server = PgServer::shared().expect("PostgreSQL for the test");
        let db = unique_name(prefix);
        server.create_database(&db).unwrap();
        Self::Postgres(server.url_for(&db))
    }
}

/// An engine on `backend`, its component cache in `state`.
async fn open(
    state: &Path,
    project: ProjectConfig,
    flows: Vec<CompiledFlow>,
    backend: &Backend,
) -> Engine {
    match backend {
        Backend::Redb => common::engine(state, project, flows, options()).await,
        Backend::Postgres(url) => {
            let store: SharedStore =
                std::sync::Arc::new(PgStore::connect(PgConfig::new(url.clone())).await.unwrap());
            let engine = Engine::open_on(project, flows, state, options(), store)
                .await
                .unwrap();
            assert!(engine.store().describe().starts_with("postgres "));
            engine
        }
    }
}

const FLOW: &str = r"
id: chain
inputs:
  n: { type: integer }
steps:
  first: { uses: echo }
  work: { uses: work, needs: [first], timeout: 10m }
  last: { uses: echo, needs: [work] }
";

fn project(work: &str) -> weft_flow::ProjectConfig {
    common::project_from(&format!(
        "id_prefix: crash\nplugins:\n  echo: {{ path: plugins/dist/echo.wasm, kind: step }}\n  work: {{ path: plugins/dist/{work}.wasm, kind: step }}\n"
    ))
}

fn options() -> EngineOptions {
    EngineOptions {
        workers: 2,
        lease_ms: 600,
        ..EngineOptions::default()
    }
}

/// The child: does nothing unless started by `a_killed_run_resumes_without_repeating_steps`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(state) = std::env::var(CHILD_ENV) else {
        return;
    };
    let project = project("hostile-loop");
    let flow = common::flow(&project, FLOW);
    let engine = open(Path::new(&state), project, vec![flow], &Backend::of_child()).await;
    let sub = engine.submit("chain", json!({"n": 1}), None).await.unwrap();
    say(&format!("RUN {}", sub.run_id));
    engine
        .run_to_completion(&sub.run_id, |e| match e {
            ProgressEvent::StepStarted { step, .. } => say(&format!("STARTED {step}")),
            ProgressEvent::StepSucceeded { step, .. } => say(&format!("SUCCEEDED {step}")),
            _ => {}
        })
        .await
        .unwrap();
    say("UNREACHABLE: the run finished");
}

/// This test binary, re-invoked to run only the test `name` with `env` set to
/// the state folder; its stdout is piped.
fn spawn_child(name: &str, env: &str, state: &Path, backend: &Backend) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, state)
        .env_remove(PG_URL_ENV)
        .stdout(Stdio::piped());
    if let Backend::Postgres(url) = backend {
        command.env(PG_URL_ENV, url);
    }
    command.spawn().unwrap()
}

/// Whether this process is a crash test's child (which runs no parent test).
fn is_child() -> bool {
    std::env::var(CHILD_ENV).is_ok() || std::env::var(AGENT_CHILD_ENV).is_ok()
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumes_without_repeating_steps() {
    if !is_child() {
        killed_run_resumes(Backend::Redb).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumes_without_repeating_steps_on_postgres() {
    if !is_child() {
        killed_run_resumes(Backend::fresh_postgres("crashrun")).await;
    }
}

async fn killed_run_resumes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child("crash_child", CHILD_ENV, dir.path(), &backend);
    let mut run_id = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // libtest prints `test crash_child ... ` before the child's first line.
        if let Some((_, id)) = line.split_once("RUN ") {
            run_id = Some(id.trim().to_owned());
        }
        assert!(!line.starts_with("UNREACHABLE"), "{line}");
        if line == "STARTED work" {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let run_id = run_id.expect("the child printed its run id");

    let project = project("echo");
    let flow = common::flow(&project, FLOW);
    let engine = open(dir.path(), project, vec![flow], &backend).await;
    let store = engine.store().clone();
    assert_eq!(
        common::count(&*store, &run_id, "step-succeeded", Some("first")).await,
        1
    );
    assert_eq!(
        common::count(&*store, &run_id, "step-succeeded", Some("work")).await,
        0
    );

    let run = engine.resume(&run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    for step in ["first", "work", "last"] {
        let n = common::count(&*store, &run_id, "step-succeeded", Some(step)).await;
        assert_eq!(n, 1, "step {step}");
    }
    // `work` came back: its lease, taken by admission in a volatile commit
    // after `first` completed, either reached the disk and expired, or was
    // lost with the process and `work` stayed ready. Either way the dead
    // child's attempt left no success behind (checked above).
    assert!(common::count(&*store, &run_id, "step-started", Some("work")).await >= 1);
    assert_eq!(run.output.unwrap()["work"]["first"], json!({"n": 1}));
    assert!(store.verify(&run_id).await.unwrap().is_ok());
}

const AGENT_FLOW: &str = r#"
id: agent-chain
inputs:
  topic: { type: string, required: true }
steps:
  first: { uses: echo }
  work:
    uses: work
    model: mock
    needs: [first]
    timeout: 10m
    with: { prompt: "Summarise the story of ${{ steps.first.output.topic }}" }
  last: { uses: echo, needs: [work] }
"#;

/// The project of the agent crash test: `work` is slow-agent, spinning after
/// its model call or not.
fn agent_project(spin: bool) -> weft_flow::ProjectConfig {
    common::project_from(&format!(
        "id_prefix: crash
plugins:
  echo: {{ path: plugins/dist/echo.wasm, kind: step }}
  work: {{ path: plugins/dist/slow-agent.wasm, kind: step, config: {{ spin: {spin} }} }}
  mock-model: {{ path: plugins/dist/mock-model.wasm, kind: model }}
models:
  mock: {{ adapter: mock-model }}
"
    ))
}

/// The child of the agent test: does nothing unless started by
/// `a_killed_agent_step_resumes_with_its_journaled_model_call`. Prints
/// `MODEL-CALLED <step> <adapter calls>` once a model call's answer is journaled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_crash_child() {
    let Ok(state) = std::env::var(AGENT_CHILD_ENV) else {
        return;
    };
    let project = agent_project(true);
    let flow = common::flow(&project, AGENT_FLOW);
    let engine = open(Path::new(&state), project, vec![flow], &Backend::of_child()).await;
    let sub = engine
        .submit("agent-chain", json!({"topic": "weft"}), None)
        .await
        .unwrap();
    say(&format!("RUN {}", sub.run_id));
    engine
        .run_to_completion(&sub.run_id, |e| {
            if let ProgressEvent::ModelCalled {
                step,
                from_journal: false,
                ..
            } = e
            {
                say(&format!("MODEL-CALLED {step} {}", engine.adapter_calls()));
            }
        })
        .await
        .unwrap();
    say("UNREACHABLE: the run finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_step_resumes_with_its_journaled_model_call() {
    if !is_child() {
        killed_agent_step_resumes(Backend::Redb).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_step_resumes_with_its_journaled_model_call_on_postgres() {
    if !is_child() {
        killed_agent_step_resumes(Backend::fresh_postgres("crashagent")).await;
    }
}

async fn killed_agent_step_resumes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child("agent_crash_child", AGENT_CHILD_ENV, dir.path(), &backend);
    let mut run_id = None;
    let mut child_calls = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((_, id)) = line.split_once("RUN ") {
            run_id = Some(id.trim().to_owned());
        }
        assert!(!line.starts_with("UNREACHABLE"), "{line}");
        if let Some((_, called)) = line.split_once("MODEL-CALLED work ") {
            child_calls = Some(called.trim().parse::<u64>().unwrap());
            break;
        }
    }
    // The answer is journaled and the step is spinning: kill it right now.
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let run_id = run_id.expect("the child printed its run id");
    assert_eq!(child_calls, Some(1), "the child called the adapter once");

    let project = agent_project(false);
    let flow = common::flow(&project, AGENT_FLOW);
    let engine = open(dir.path(), project, vec![flow], &backend).await;
    let store = engine.store().clone();
    let count =
        async |kind: &str, step: &str| common::count(&*store, &run_id, kind, Some(step)).await;
    assert_eq!(count("step-succeeded", "first").await, 1);
    assert_eq!(count("step-succeeded", "work").await, 0);
    assert_eq!(count("model-call-journaled", "work").await, 1);
    let journaled = store
        .journal_get(&run_id, "work", 0)
        .await
        .unwrap()
        .unwrap();

    let mut served = Vec::new();
    let run = engine
        .resume(&run_id, |e| {
            if let ProgressEvent::ModelCalled {
                step,
                call_index,
                from_journal,
                ..
            } = e
            {
                served.push((step, call_index, from_journal));
            }
        })
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        engine.adapter_calls(),
        0,
        "the answer came from the journal"
    );
    assert_eq!(served, [("work".to_owned(), 0, true)]);
    // `first` and `last` ran exactly once; `work` started in the child and again
    // here, and succeeded once.
    for step in ["first", "work", "last"] {
        assert_eq!(count("step-succeeded", step).await, 1, "step {step}");
    }
    assert_eq!(count("step-started", "first").await, 1);
    assert_eq!(count("step-started", "last").await, 1);
    assert!(count("step-started", "work").await >= 2);
    assert_eq!(count("model-call-journaled", "work").await, 1);
    let text = journaled["text"].as_str().unwrap();
    assert!(
        text.starts_with("mock answer to: Summarise the story of weft"),
        "{text}"
    );
    let output = run.output.unwrap();
    assert_eq!(output["work"]["text"], text);
    assert_eq!(
        output["work"]["attempt"], 1,
        "a redelivery keeps the attempt"
    );
    assert!(store.verify(&run_id).await.unwrap().is_ok());
}
