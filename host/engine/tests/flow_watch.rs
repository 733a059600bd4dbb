//! `FolderEvents` + `FlowWatcher` on a real engine and real files: an edited
//! flow file is swapped in and the next run uses it; a broken file keeps the
//! last good version serving; a plugin that does not load keeps the old flow
//! set; a run whose flow file is deleted dead-letters its next task with a
//! clear reason and goes on once the file is back and the task requeued.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;
use std::time::Duration;
use weft_store_api::WorkerSite;

use serde_json::json;
use tokio::sync::watch;
use weft_engine::{Engine, EngineOptions, FlowFolder, FlowStatus, FlowWatcher, FolderEvents};
use weft_flow::ProjectConfig;
use weft_store_api::RunStatus;

/// A project whose `fake` plugin is declared a step but is a retry strategy:
/// flows using it validate, the engine cannot load it.
const PROJECT: &str = r#"
id_prefix: test
plugins:
  echo: { path: plugins/dist/echo.wasm, kind: step }
  fake: { path: plugins/dist/exp-backoff.wasm, kind: step }
"#;

/// `chain` version 1: one echo step.
const CHAIN_V1: &str = "id: chain\ninputs:\n  n: { type: integer }\nsteps:\n  a: { uses: echo }\n";
/// `chain` version 2: a second step wraps the first one's output in `v2`.
const CHAIN_V2: &str = "id: chain\nversion: 2\ninputs:\n  n: { type: integer }\nsteps:\n  a: { uses: echo }\n  b: { uses: echo, needs: [a], with: { wrap: v2 } }\n";

/// An engine serving the flow files of `flows`, and the watcher reloading it.
async fn watched(
    state: &Path,
    flows: &Path,
    project: ProjectConfig,
) -> (Engine, FlowWatcher, watch::Receiver<FlowStatus>) {
    let events = FolderEvents::watch(flows).unwrap();
    let mut folder = FlowFolder::new(flows, project.clone());
    let scan = folder.scan();
    assert!(scan.errors().is_empty(), "{:?}", scan.errors());
    folder.commit(scan);
    let options = EngineOptions {
        workers: 2,
        ..EngineOptions::default()
    };
    let engine = common::engine(state, project, folder.flows(), options).await;
    let watcher = events.serve(engine.clone(), folder);
    let status = watcher.status();
    (engine, watcher, status)
}

/// Waits (at most 20 s) for a status that satisfies `done`.
async fn wait_for(
    status: &mut watch::Receiver<FlowStatus>,
    what: &str,
    done: impl FnMut(&FlowStatus) -> bool,
) -> FlowStatus {
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        status.wait_for(done).await.map(|s| s.clone())
    })
    .await;
    match seen {
        Ok(Ok(seen)) => seen,
        Ok(Err(_)) => panic!("the watcher stopped before {what}"),
        Err(_) => panic!("no {what} within 20 s; last status: {:?}", *status.borrow()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_file_is_swapped_in_and_a_broken_one_keeps_the_last_good_version() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    std::fs::write(flows.join("chain.yaml"), CHAIN_V1).unwrap();
    let (engine, watcher, mut status) =
        watched(&dir.path().join("state"), &flows, common::project()).await;
    assert_eq!(status.borrow().generation, 1);

    std::fs::write(flows.join("chain.yaml"), CHAIN_V2).unwrap();
    let seen = wait_for(&mut status, "generation 2", |s| s.generation >= 2).await;
    assert_eq!(seen.generation, 2, "one burst, one swap: {seen:?}");
    assert!(seen.errors.is_empty(), "{seen:?}");
    assert_eq!(engine.flow("chain").unwrap().version, 2);
    let sub = engine.submit("chain", json!({"n": 1}), None).await.unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.flow_version, "2");
    assert_eq!(run.output, Some(json!({"v2": {"a": {"n": 1}}})));

    // A YAML typo: reported with file and line; version 2 keeps serving.
    std::fs::write(
        flows.join("chain.yaml"),
        "id: chain\nversion: 3\nsteps: [\n",
    )
    .unwrap();
    let seen = wait_for(&mut status, "the typo reported", |s| {
        s.errors
            .iter()
            .any(|e| e.message.contains("chain.yaml:4:1"))
    })
    .await;
    assert_eq!(seen.generation, 2, "{seen:?}");
    assert!(seen.errors[0].file.ends_with("chain.yaml"), "{seen:?}");
    assert!(
        seen.errors[0].message.contains("chain.yaml:4:1"),
        "{seen:?}"
    );
    assert_eq!(engine.flow("chain").unwrap().version, 2);
    let sub = engine.submit("chain", json!({"n": 2}), None).await.unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.flow_version, "2");

    // Fixed: swapped in, the error is gone.
    std::fs::write(
        flows.join("chain.yaml"),
        CHAIN_V1.replace("id: chain\n", "id: chain\nversion: 3\n"),
    )
    .unwrap();
    let seen = wait_for(&mut status, "generation 3", |s| s.generation >= 3).await;
    assert!(seen.errors.is_empty(), "{seen:?}");
    assert_eq!(engine.flow("chain").unwrap().version, 3);
    watcher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_does_not_load_keeps_the_old_flows_serving() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    std::fs::write(flows.join("chain.yaml"), CHAIN_V1).unwrap();
    let project = common::project_from(PROJECT);
    let (engine, watcher, mut status) = watched(&dir.path().join("state"), &flows, project).await;

    // A new file uses a plugin that cannot load, and chain changes too (in
    // the same reload or a later one: each sees the new file).
    std::fs::write(
        flows.join("uses-fake.yaml"),
        "id: uses-fake\nsteps:\n  x: { uses: fake }\n",
    )
    .unwrap();
    std::fs::write(flows.join("chain.yaml"), CHAIN_V2).unwrap();
    let seen = wait_for(&mut status, "a refused swap", |s| {
        s.errors.iter().any(|e| e.file.ends_with("uses-fake.yaml"))
    })
    .await;
    assert_eq!(seen.generation, 1, "nothing was swapped: {seen:?}");
    let message = &seen.errors[0].message;
    assert!(message.contains("plugin `fake`"), "{message}");
    assert!(
        message.contains("uses-fake.yaml:3:"),
        "where it is used: {message}"
    );
    assert!(message.contains("no flow was swapped"), "{message}");
    assert_eq!(
        engine.flow("chain").unwrap().version,
        1,
        "the old set serves"
    );
    assert!(engine.flow("uses-fake").is_none());

    // The file is fixed: the whole set, chain version 2 included, goes in.
    std::fs::write(
        flows.join("uses-fake.yaml"),
        "id: uses-fake\nsteps:\n  x: { uses: echo }\n",
    )
    .unwrap();
    let seen = wait_for(&mut status, "generation 2", |s| s.generation >= 2).await;
    assert!(seen.errors.is_empty(), "{seen:?}");
    assert_eq!(engine.flow("chain").unwrap().version, 2);
    assert!(engine.flow("uses-fake").is_some());
    watcher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_a_deleted_flow_waits_in_the_dead_letters_until_the_flow_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    std::fs::write(flows.join("chain.yaml"), CHAIN_V2).unwrap();
    let (engine, watcher, mut status) =
        watched(&dir.path().join("state"), &flows, common::project()).await;
    let store = engine.store().clone();
    let sub = engine.submit("chain", json!({"n": 3}), None).await.unwrap();
    // Step a runs; b is queued when the file goes.
    let lease = store
        .lease("test", None, 60_000, WorkerSite::Remote, engine.now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.step, "a");
    engine.run_task(lease).await;

    std::fs::remove_file(flows.join("chain.yaml")).unwrap();
    wait_for(&mut status, "generation 2", |s| s.generation >= 2).await;
    assert!(engine.flow("chain").is_none());
    assert!(engine.submit("chain", json!({"n": 4}), None).await.is_err());
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Running, "{run:?}");
    let dead = store.dlq_list().await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0].reason.contains("flow `chain` is not served")
            && dead[0].reason.contains("removed from the flows folder")
            && dead[0].reason.contains("requeue"),
        "{}",
        dead[0].reason
    );

    std::fs::write(flows.join("chain.yaml"), CHAIN_V2).unwrap();
    wait_for(&mut status, "generation 3", |s| s.generation >= 3).await;
    store
        .dlq_requeue(dead[0].task, engine.now_ms())
        .await
        .unwrap();
    let run = engine.run_to_completion(&sub.run_id, |_| {}).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.output, Some(json!({"v2": {"a": {"n": 3}}})));
    watcher.shutdown().await;
}
