//! kill -9 mid-run: a child process (this test binary, re-invoked) runs the
//! engine and is killed with SIGKILL while a step is in flight; the parent
//! resumes the run from the same store. Finished steps are not repeated.
//!
//! The child's `work` plugin never returns (hostile-loop), so the kill always
//! lands mid-step; the parent's `work` is echo, so the resumed run can finish.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;
use weft_engine::{EngineOptions, ProgressEvent};
use weft_store::RunStatus;

const CHILD_ENV: &str = "WEFT_ENGINE_CRASH_CHILD";

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
    let engine = common::engine(Path::new(&state), project, vec![flow], options()).await;
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

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumes_without_repeating_steps() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
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
    let engine = common::engine(dir.path(), project, vec![flow], options()).await;
    let store = engine.store().clone();
    assert_eq!(
        common::count(&store, &run_id, "step-succeeded", Some("first")),
        1
    );
    assert_eq!(
        common::count(&store, &run_id, "step-succeeded", Some("work")),
        0
    );

    let run = engine.resume(&run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    for step in ["first", "work", "last"] {
        let n = common::count(&store, &run_id, "step-succeeded", Some(step));
        assert_eq!(n, 1, "step {step}");
    }
    // `work` came back because the dead child's lease expired.
    assert!(common::count(&store, &run_id, "lease-expired", Some("work")) >= 1);
    assert_eq!(run.output.unwrap()["work"]["first"], json!({"n": 1}));
    assert!(store.verify(&run_id).unwrap().is_ok());
}
