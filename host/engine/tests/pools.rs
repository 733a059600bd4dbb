//! Pools: `max_concurrent` holds under many workers, `on_exhausted: fail`
//! refuses, the rate limit's token bucket holds on a controllable clock,
//! `fair-share` gives a flooded-out tenant slots, and hot swaps of a pool's
//! policy and a flow's retry strategy (a wrong world is refused).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::json;
use weft_engine::{Engine, EngineError, EngineOptions, ManualClock, ProgressEvent, SubmitOptions};
use weft_store_api::{Lease, RunStatus, StoreError};

/// `common::PROJECT` with the pool plugins and a pool `p` declared by `pool`.
fn project_with(pool: &str) -> weft_flow::ProjectConfig {
    let source = format!(
        "{}  priority-fifo: {{ path: plugins/dist/priority-fifo.wasm, kind: pool }}\n  \
         fair-share: {{ path: plugins/dist/fair-share.wasm, kind: pool }}\npools:\n  p:\n{pool}",
        common::PROJECT
            .split_once("models:")
            .map(|(plugins, _)| plugins)
            .unwrap(),
    );
    let source = format!(
        "{source}\nmodels:{}",
        common::PROJECT.split_once("models:").unwrap().1
    );
    common::project_from(&source)
}

const FLOW: &str = r"
id: pooled
inputs:
  i: { type: integer, required: true }
steps:
  only: { uses: echo, pool: p }
";

async fn open(pool: &str, options: EngineOptions) -> (tempfile::TempDir, Engine) {
    let project = project_with(pool);
    let flow = common::flow(&project, FLOW);
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    (dir, engine)
}

async fn submit(engine: &Engine, i: i64, tenant: Option<&str>) -> String {
    let options = SubmitOptions {
        tenant: tenant.map(str::to_owned),
        ..SubmitOptions::default()
    };
    engine
        .submit_with("pooled", json!({ "i": i }), options)
        .await
        .unwrap()
        .run_id
}

/// Waits for `n` RunFinished events and asserts each succeeded.
async fn await_finished(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<ProgressEvent>,
    n: usize,
) -> Vec<String> {
    let mut finished = Vec::new();
    while finished.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(120), events.recv())
            .await
            .expect("the runs finish within two minutes")
            .unwrap();
        if let ProgressEvent::RunFinished { run, status, .. } = event {
            assert_eq!(status, RunStatus::Succeeded, "{run}");
            finished.push(run);
        }
    }
    finished
}

/// The `admitted_by` of the run's `step-started` events.
async fn admitted_by(engine: &Engine, run: &str) -> Vec<String> {
    engine
        .store()
        .ledger(run)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "step-started")
        .map(|e| e.payload["admitted_by"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn sha_of(file: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(wasm(file));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn wasm(file: &str) -> Vec<u8> {
    std::fs::read(weft_tests::repo_root().join("plugins/dist").join(file)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_runs_in_a_pool_of_three_never_run_more_than_three_at_once() {
    let options = EngineOptions {
        workers: 8,
        ..EngineOptions::default()
    };
    let (_dir, engine) = open("    max_concurrent: 3\n", options).await;
    // The store's live leases, read each time a step starts (just after its
    // lease): the moment the pool is fullest. Counting step events instead
    // would race: a task's end is emitted after the commit that frees its
    // slot, so the next task's start can be seen first.
    let most_leased = Arc::new(AtomicI64::new(0));
    let started = Arc::new(AtomicI64::new(0));
    {
        let (most_leased, started) = (most_leased.clone(), started.clone());
        let view = engine.clone();
        engine.observe(Arc::new(move |event: &ProgressEvent| {
            if let ProgressEvent::StepStarted { .. } = event {
                started.fetch_add(1, Ordering::SeqCst);
                // The observer is synchronous; the read does not wait on the writer.
                let status = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(view.pools_status())
                })
                .unwrap();
                let p = status.iter().find(|s| s.name == "p").unwrap();
                most_leased.fetch_max(i64::try_from(p.active).unwrap(), Ordering::SeqCst);
            }
        }));
    }
    let mut events = engine.subscribe();
    for i in 0..20 {
        submit(&engine, i, None).await;
    }
    let workers = engine.start();
    let finished = await_finished(&mut events, 20).await;
    workers.shutdown().await;

    assert_eq!(finished.len(), 20);
    assert!(
        most_leased.load(Ordering::SeqCst) <= 3,
        "{most_leased:?} leased at once"
    );
    assert!(most_leased.load(Ordering::SeqCst) >= 1);
    assert!(started.load(Ordering::SeqCst) >= 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_with_on_exhausted_fail_refuses_a_submit_clearly() {
    let (_dir, engine) = open(
        "    max_concurrent: 2\n    on_exhausted: fail\n",
        EngineOptions::default(),
    )
    .await;
    submit(&engine, 1, None).await;
    submit(&engine, 2, None).await;
    let err = engine
        .submit_with("pooled", json!({ "i": 3 }), SubmitOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Store(StoreError::PoolExhausted { ref pool, queued: 2, max: 2, .. }) if pool == "p"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("pool `p` is exhausted"), "{text}");
    assert!(text.contains("on_exhausted: fail"), "{text}");

    // A slot freed by a finished run takes a new one again.
    let lease = engine.admit("w", 60_000).await.unwrap().unwrap();
    engine.run_task(lease).await;
    submit(&engine, 4, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_admits_the_burst_then_one_per_refill() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let options = EngineOptions {
        workers: 0,
        clock: clock.clone(),
        ..EngineOptions::default()
    };
    // 60 a minute: one token a second, two at most.
    let (_dir, engine) = open(
        "    max_concurrent: 50\n    rate_limit: { per_minute: 60, burst: 2 }\n",
        options,
    )
    .await;
    for i in 0..10 {
        submit(&engine, i, None).await;
    }
    let mut admitted: Vec<Lease> = Vec::new();
    let mut admit_all = async || {
        let mut n = 0;
        while let Some(lease) = engine.admit("w", 600_000).await.unwrap() {
            admitted.push(lease);
            n += 1;
        }
        n
    };
    assert_eq!(admit_all().await, 2, "the burst");
    clock.advance(999);
    assert_eq!(admit_all().await, 0, "no whole token yet");
    clock.advance(1);
    assert_eq!(admit_all().await, 1, "one token a second");
    clock.advance(3_000);
    assert_eq!(admit_all().await, 2, "the bucket holds two at most");
    clock.advance(60_000);
    assert_eq!(admit_all().await, 2);
    assert_eq!(admitted.len(), 7);
    let status = engine.pools_status().await.unwrap();
    let p = status.iter().find(|s| s.name == "p").unwrap();
    assert_eq!((p.active, p.queued), (7, 3));
    assert_eq!(p.rate_limit, Some((60.0, 2)));
}

/// Leases as many tasks as admission gives and returns their runs' tenants.
async fn tenants_admitted(engine: &Engine, slots: usize) -> Vec<String> {
    let mut tenants = Vec::new();
    for _ in 0..slots {
        let lease = engine.admit("w", 600_000).await.unwrap().unwrap();
        let run = engine.store().run_get(&lease.run).await.unwrap().unwrap();
        tenants.push(run.tenant);
    }
    assert!(engine.admit("w", 600_000).await.unwrap().is_none(), "full");
    tenants
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fair_share_gives_slots_to_a_tenant_queued_behind_a_flood() {
    let options = || EngineOptions {
        workers: 0,
        ..EngineOptions::default()
    };
    for (policy, b_gets_slots) in [("fair-share", true), ("priority-fifo", false)] {
        let pool = format!("    max_concurrent: 4\n    policy: {policy}\n");
        let (_dir, engine) = open(&pool, options()).await;
        for i in 0..30 {
            submit(&engine, i, Some("flood")).await;
        }
        for i in 0..3 {
            submit(&engine, 100 + i, Some("quiet")).await;
        }
        let tenants = tenants_admitted(&engine, 4).await;
        let quiet = tenants.iter().filter(|t| *t == "quiet").count();
        if b_gets_slots {
            assert_eq!(quiet, 2, "{policy}: {tenants:?}");
        } else {
            assert_eq!(quiet, 0, "{policy} serves in order: {tenants:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_swapped_while_runs_flow_makes_every_later_decision() {
    let options = EngineOptions {
        workers: 4,
        ..EngineOptions::default()
    };
    let (_dir, engine) = open(
        "    max_concurrent: 2\n    policy: priority-fifo\n",
        options,
    )
    .await;
    let (fifo, fair) = (sha_of("priority-fifo.wasm"), sha_of("fair-share.wasm"));
    let mut events = engine.subscribe();
    let workers = engine.start();
    let mut before = Vec::new();
    for i in 0..10 {
        before.push(submit(&engine, i, Some("a")).await);
    }
    // Some runs have finished under the old policy, others still wait.
    await_finished(&mut events, 3).await;
    let report = engine
        .set_pool_policy("p", &wasm("fair-share.wasm"), None)
        .await
        .unwrap();
    assert_eq!(
        (report.old_sha256.as_str(), report.new_sha256.as_str()),
        (fifo.as_str(), fair.as_str())
    );
    assert_eq!(report.stream, "@pool:p");
    let mut after = Vec::new();
    for i in 0..10 {
        after.push(submit(&engine, 100 + i, Some(if i % 2 == 0 { "a" } else { "b" })).await);
    }
    await_finished(&mut events, 17).await;
    workers.shutdown().await;

    for run in before.iter().chain(&after) {
        let rec = engine.store().run_get(run).await.unwrap().unwrap();
        assert_eq!(rec.status, RunStatus::Succeeded, "{run} was lost");
    }
    assert!(
        admitted_by(&engine, &before[0])
            .await
            .iter()
            .all(|by| *by == fifo)
    );
    for run in &after {
        assert_eq!(admitted_by(&engine, run).await, vec![fair.clone()], "{run}");
    }
    let swaps = engine.store().ledger("@pool:p").await.unwrap();
    assert_eq!(swaps.len(), 1);
    assert_eq!(swaps[0].kind, "component-swapped");
    assert_eq!(swaps[0].payload["old_sha256"], fifo.as_str());
    assert_eq!(swaps[0].payload["new_sha256"], fair.as_str());
    let status = engine.pools_status().await.unwrap();
    let p = status.iter().find(|s| s.name == "p").unwrap();
    assert_eq!(p.policy_sha256, fair);
    assert!(p.policy_swapped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_the_wrong_world_is_refused_and_nothing_changes() {
    let options = EngineOptions {
        workers: 0,
        ..EngineOptions::default()
    };
    let (_dir, engine) = open(
        "    max_concurrent: 2\n    policy: priority-fifo\n",
        options,
    )
    .await;
    let fifo = sha_of("priority-fifo.wasm");
    for file in ["exp-backoff.wasm", "echo.wasm", "hostile-wrong-world.wasm"] {
        let err = engine
            .set_pool_policy("p", &wasm(file), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::SwapRefused { .. }),
            "{file}: {err:?}"
        );
        assert!(err.to_string().contains("the old one stays"), "{err}");
    }
    let err = engine
        .set_retry_strategy("pooled", &wasm("fair-share.wasm"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::SwapRefused { .. }), "{err:?}");
    let err = engine
        .set_pool_policy("nope", &wasm("fair-share.wasm"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::UnknownPool(_)), "{err:?}");

    assert!(engine.store().overrides().await.unwrap().is_empty());
    assert!(engine.store().ledger("@pool:p").await.unwrap().is_empty());
    assert!(
        engine
            .store()
            .ledger("@retry:pooled")
            .await
            .unwrap()
            .is_empty()
    );
    let run = submit(&engine, 1, None).await;
    let lease = engine.admit("w", 60_000).await.unwrap().unwrap();
    engine.run_task(lease).await;
    assert_eq!(admitted_by(&engine, &run).await, vec![fifo.clone()]);
    let status = engine.pools_status().await.unwrap();
    let p = status.iter().find(|s| s.name == "p").unwrap();
    assert_eq!(p.policy_sha256, fifo);
    assert!(!p.policy_swapped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_policy_and_retry_strategy_come_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with("    max_concurrent: 2\n    policy: priority-fifo\n");
    let flow = common::flow(&project, FLOW);
    let fair = sha_of("fair-share.wasm");
    let backoff = sha_of("exp-backoff.wasm");
    {
        let engine = common::engine(
            dir.path(),
            project.clone(),
            vec![flow.clone()],
            EngineOptions::default(),
        )
        .await;
        engine
            .set_pool_policy("p", &wasm("fair-share.wasm"), Some(json!({})))
            .await
            .unwrap();
        let report = engine
            .set_retry_strategy(
                "pooled",
                &wasm("exp-backoff.wasm"),
                Some(json!({ "max_attempts": 1 })),
            )
            .await
            .unwrap();
        assert_eq!(report.new_sha256, backoff);
        assert_eq!(report.stream, "@retry:pooled");
        engine.store().clone().close().await;
    }
    let engine = common::engine(dir.path(), project, vec![flow], EngineOptions::default()).await;
    let status = engine.pools_status().await.unwrap();
    let p = status.iter().find(|s| s.name == "p").unwrap();
    assert_eq!(p.policy_sha256, fair);
    let retry = engine.store().ledger("@retry:pooled").await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].payload["new_sha256"], backoff.as_str());
}
