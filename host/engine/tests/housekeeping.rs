//! Housekeeping: the idempotency TTL comes from weft.yaml's `idempotency.ttl`
//! and expired keys are purged by the background housekeeping; the stored
//! state of a schedule whose flow is gone is removed by `prune_schedules`, and
//! by a flow reload that drops the flow.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weft_engine::{
    Clock, Engine, EngineOptions, FlowFolder, FolderEvents, ManualClock, tenant_idempotency_key,
};
use weft_flow::ProjectConfig;
use weft_store_api::ScheduleId;

/// 2026-11-22T00:00:00Z.
const T0: u64 = 1_795_305_600_000;

fn project(extra: &str) -> ProjectConfig {
    common::project_from(&format!(
        "id_prefix: hk\nplugins:\n  echo: {{ path: plugins/dist/echo.wasm, kind: step }}\n{extra}"
    ))
}

fn flow_text(id: &str) -> String {
    format!("id: {id}\nsteps:\n  a: {{ uses: echo }}\nschedule:\n  - cron: \"0 0 * * * *\"\n")
}

async fn open(
    dir: &Path,
    clock: &Arc<ManualClock>,
    project: ProjectConfig,
    ids: &[&str],
) -> Engine {
    let flows = ids
        .iter()
        .map(|id| common::flow(&project, &flow_text(id)))
        .collect();
    let options = EngineOptions {
        workers: 1,
        clock: Arc::clone(clock) as Arc<dyn Clock>,
        ..EngineOptions::default()
    };
    common::engine(dir, project, flows, options).await
}

#[tokio::test]
async fn the_ttl_comes_from_weft_yaml_and_expired_keys_are_purged_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let engine = open(
        dir.path(),
        &clock,
        project("idempotency: { ttl: 2s }\n"),
        &["once"],
    )
    .await;
    assert_eq!(engine.idempotency_ttl_ms(), 2_000);
    let store = engine.store().clone();

    let first = engine
        .submit("once", json!({}), Some("order-7".into()))
        .await
        .unwrap();
    let other = engine
        .submit("once", json!({}), Some("order-8".into()))
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotency_get(&tenant_idempotency_key("default", "order-7"))
            .await
            .unwrap(),
        Some((first.run_id.clone(), T0 + 2_000)),
        "the key names its run for weft.yaml's 2 s"
    );
    clock.advance(1_999);
    let again = engine
        .submit("once", json!({}), Some("order-7".into()))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.run_id, first.run_id);

    // A key given later lives on past the others' expiry.
    let late = engine
        .submit("once", json!({}), Some("order-9".into()))
        .await
        .unwrap();
    clock.advance(1);
    // The housekeeping purges once as it starts, then periodically.
    let housekeeping = engine.start_housekeeping();
    let mut passes = housekeeping.passes();
    tokio::time::timeout(Duration::from_secs(20), passes.wait_for(|n| *n >= 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .idempotency_get(&tenant_idempotency_key("default", "order-7"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .idempotency_get(&tenant_idempotency_key("default", "order-8"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.idempotency_count().await.unwrap(), 1);
    housekeeping.shutdown().await;

    // The purged key makes a new run; the live one still dedups.
    let renewed = engine
        .submit("once", json!({}), Some("order-7".into()))
        .await
        .unwrap();
    assert!(renewed.created);
    assert_ne!(renewed.run_id, first.run_id);
    assert_ne!(renewed.run_id, other.run_id);
    let dedup = engine
        .submit("once", json!({}), Some("order-9".into()))
        .await
        .unwrap();
    assert!(!dedup.created);
    assert_eq!(dedup.run_id, late.run_id);
}

#[tokio::test]
async fn the_default_ttl_is_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let engine = open(dir.path(), &clock, project(""), &["once"]).await;
    assert_eq!(engine.idempotency_ttl_ms(), 24 * 60 * 60 * 1000);
}

fn row(flow: &str) -> ScheduleId {
    ScheduleId::new(
        flow,
        weft_engine::schedule_key(
            0,
            &common::flow(&project(""), &flow_text(flow)).schedules[0],
        ),
    )
}

#[tokio::test]
async fn a_schedule_row_of_a_removed_flow_is_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let engine = open(dir.path(), &clock, project(""), &["kept", "removed"]).await;
    engine.tick_schedules().await.unwrap();
    let ids = async |engine: &Engine| -> Vec<ScheduleId> {
        engine
            .store()
            .schedules_list()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids(&engine).await, vec![row("kept"), row("removed")]);

    // Nothing to prune while both are loaded.
    assert!(engine.prune_schedules().await.unwrap().is_empty());
    let kept = engine.flow("kept").unwrap();
    engine.replace_flows(vec![(*kept).clone()]).await.unwrap();
    assert_eq!(
        engine.prune_schedules().await.unwrap(),
        vec![row("removed")]
    );
    assert_eq!(ids(&engine).await, vec![row("kept")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_drops_a_flow_drops_its_schedule_rows() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    std::fs::write(flows.join("kept.yaml"), flow_text("kept")).unwrap();
    std::fs::write(flows.join("removed.yaml"), flow_text("removed")).unwrap();
    let project = project("");
    let events = FolderEvents::watch(&flows).unwrap();
    let mut folder = FlowFolder::new(&flows, project.clone());
    let scan = folder.scan();
    folder.commit(scan);
    let clock = Arc::new(ManualClock::new(T0));
    let options = EngineOptions {
        workers: 1,
        clock: Arc::clone(&clock) as Arc<dyn Clock>,
        ..EngineOptions::default()
    };
    let engine = common::engine(&dir.path().join("state"), project, folder.flows(), options).await;
    engine.tick_schedules().await.unwrap();
    assert_eq!(engine.store().schedules_list().await.unwrap().len(), 2);
    let watcher = events.serve(engine.clone(), folder);
    let mut status = watcher.status();

    std::fs::remove_file(flows.join("removed.yaml")).unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        status.wait_for(|s| s.generation >= 2),
    )
    .await
    .unwrap()
    .unwrap();
    let left: Vec<ScheduleId> = engine
        .store()
        .schedules_list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![row("kept")]);
    watcher.shutdown().await;
}
