//! `weft_pool_active` and `weft_pool_queued`, read with a counts-only pool
//! view at each scrape, show what `weft pools` shows (`Engine::pools_status`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::sync::Arc;

use serde_json::json;
use weft_engine::{Engine, EngineOptions};
use weft_flow::{ProjectConfig, compile_flow};
use weft_server::Metrics;

const PROJECT: &str = "id_prefix: pools\nplugins:\n  echo: { path: plugins/dist/echo.wasm, kind: step }\n\
    pools:\n  slow: { max_concurrent: 2 }\n";
const FLOW: &str =
    "id: once\ninputs:\n  n: { type: integer }\nsteps:\n  a: { uses: echo, pool: slow }\n";

/// The value of `family{pool="<pool>",…}` in a scrape.
fn value(text: &str, family: &str, pool: &str) -> Option<u64> {
    let start = format!("{family}{{");
    let label = format!("pool=\"{pool}\"");
    text.lines()
        .find(|l| l.starts_with(&start) && l.contains(&label))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_gauges_agree_with_the_pools_status() {
    let root = weft_tests::repo_root();
    let project = ProjectConfig::parse("weft.yaml", PROJECT, &root).unwrap();
    let flow = compile_flow("once.yaml", FLOW, &project).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        workers: 0,
        ..EngineOptions::default()
    };
    let engine = Engine::open_with(project, vec![flow], dir.path(), options)
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::for_instance("node-a").unwrap());
    metrics.follow(&engine).await.unwrap();
    for n in 0..7 {
        engine.submit("once", json!({"n": n}), None).await.unwrap();
    }
    assert!(engine.admit("w-1", 60_000).await.unwrap().is_some());
    let text = metrics.render(&engine).await.unwrap();
    let pools = engine.pools_status().await.unwrap();
    assert!(pools.iter().any(|p| p.name == "slow"));
    for pool in &pools {
        let name = pool.name.as_str();
        assert_eq!(
            value(&text, "weft_pool_active", name),
            Some(pool.active),
            "{name}"
        );
        assert_eq!(
            value(&text, "weft_pool_queued", name),
            Some(pool.queued),
            "{name}"
        );
    }
    let slow = pools.iter().find(|p| p.name == "slow").unwrap();
    assert_eq!((slow.active, slow.queued), (1, 6));
}
