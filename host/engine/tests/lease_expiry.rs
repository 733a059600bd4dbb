//! A lease that has run out is over: the worker that held it is refused when
//! it reports late, even if nobody took the task over meanwhile, and idle
//! workers long-polling for a task are woken when the lease runs out, so the
//! task moves on at once instead of at the end of their poll.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::future::pending;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use weft_core::worker_protocol::{CompleteRequest, FailRequest, LeaseRequest, ModelCallRequest};
use weft_core::{CompletionRequest, PluginError};
use weft_engine::{EngineError, EngineOptions, ManualClock};
use weft_store_api::{NewRun, NewTask, TaskState};

const FLOW: &str = r#"
id: one
steps:
  a: { uses: echo }
"#;

/// 2026-11-22T00:00:00Z in ms.
const T0: u64 = 1_795_305_600_000;

fn ask(owner: &str, pools: Option<Vec<String>>, lease_ms: u64, wait_ms: u64) -> LeaseRequest {
    LeaseRequest {
        worker: owner.into(),
        owner: format!("{owner}/0"),
        pools,
        lease_ms,
        wait_ms,
    }
}

fn done(token: u64) -> CompleteRequest {
    CompleteRequest {
        token,
        output: json!({"late": true}),
        elapsed_ms: 1,
    }
}

/// A worker stopped past its lease's expiry comes back before anyone took the
/// task over: its complete, fail, heartbeat and model call are all refused
/// (engine's clock: a manual one), and the task is the next worker's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_worker_is_refused_although_nobody_took_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let clock = Arc::new(ManualClock::new(T0));
    let options = EngineOptions {
        workers: 0,
        clock: clock.clone(),
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let run = engine.submit("one", json!({}), None).await.unwrap().run_id;
    let held = engine
        .lease_remote(&ask("w1", None, 1_000, 0), pending())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.expires_ms, T0 + 1_000);

    // The worker is stopped for 8 s; nobody leases anything meanwhile.
    clock.advance(8_000);
    let late = engine.complete_remote(held.task, done(held.token)).await;
    assert!(
        matches!(late, Err(EngineError::LeaseLost { .. })),
        "{late:?}"
    );
    let beat = engine.heartbeat(held.task, held.token, 1_000).await;
    assert!(
        matches!(beat, Err(EngineError::LeaseLost { .. })),
        "{beat:?}"
    );
    let failed = FailRequest {
        token: held.token,
        error: PluginError::Transient("late".into()),
        message: "late".into(),
        elapsed_ms: 1,
    };
    let failed = engine.fail_remote(held.task, failed).await;
    assert!(
        matches!(failed, Err(EngineError::LeaseLost { .. })),
        "{failed:?}"
    );
    let call = ModelCallRequest {
        token: held.token,
        index: 0,
        request: CompletionRequest {
            model: "mock".into(),
            messages: Vec::new(),
            max_tokens: None,
            temperature: None,
            extra: None,
        },
    };
    let called = engine.model_call_remote(held.task, &call).await;
    assert!(
        matches!(called, Err(EngineError::LeaseLost { .. })),
        "{called:?}"
    );

    // Nothing of the late worker was recorded; the task went back to the
    // queue and the next worker gets it, same attempt, a new token.
    let store = engine.store();
    assert!(store.step_outputs(&run).await.unwrap().is_empty());
    assert_eq!(
        store.task_get(held.task).await.unwrap().unwrap().state,
        TaskState::Ready
    );
    assert_eq!(
        common::count(store.as_ref(), &run, "lease-expired", None).await,
        1
    );
    assert_eq!(
        common::count(store.as_ref(), &run, "stale-token-refused", None).await,
        3
    );
    let next = engine
        .lease_remote(&ask("w2", None, 1_000, 0), pending())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((next.task, next.attempt), (held.task, 1));
    assert!(next.token > held.token);
    let ok = engine
        .complete_remote(next.task, done(next.token))
        .await
        .unwrap();
    assert!(ok.run_finished, "{ok:?}");
    assert!(store.verify(&run).await.unwrap().is_ok());
}

/// Worker B long-polls (30 s) before any task exists; worker A then leases
/// the only task for 1 s and disappears. B is woken when A's lease runs out
/// and gets the task about a second later, not at the end of its poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_polling_worker_is_woken_when_a_lease_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let version = flow.version.to_string();
    let options = EngineOptions {
        workers: 0,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;

    let waiting = {
        let engine = engine.clone();
        tokio::spawn(async move {
            let task = engine
                .lease_remote(&ask("b", None, 30_000, 30_000), pending())
                .await
                .unwrap();
            (task, Instant::now())
        })
    };
    // B is asleep on an empty queue. The run is put in the store directly, so
    // that B is not woken by its submission and A (pool `default` only, no
    // wait) takes the task. The pause lets B reach its sleep first (nothing
    // tells when it has); were B later, it would sleep until A's expiry on its
    // own and the test would pass anyway, only without showing the wake-up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let new = NewRun {
        flow_id: "one".into(),
        flow_version: version,
        tenant: "default".into(),
        input: json!({}),
        priority: 0,
        idempotency_key: None,
        id_prefix: "test".into(),
        not_before: None,
        initial_tasks: vec![NewTask {
            step_id: "a".into(),
            pool: "default".into(),
            priority: 0,
        }],
    };
    let run = engine
        .store()
        .submit_run(new, engine.now_ms())
        .await
        .unwrap()
        .run_id;
    let a = engine
        .lease_remote(&ask("a", Some(vec!["default".into()]), 1_000, 0), pending())
        .await
        .unwrap()
        .expect("A leases the task");
    let leased_at = Instant::now();

    let (b, woken_at) = tokio::time::timeout(Duration::from_secs(40), waiting)
        .await
        .expect("B answers within its poll")
        .unwrap();
    let b = b.expect("B gets the task A's lease left behind");
    let after = woken_at - leased_at;
    assert!(
        after < Duration::from_secs(5),
        "B got the task {after:?} after A leased it for 1 s"
    );
    assert_eq!((b.task, b.run.as_str()), (a.task, run.as_str()));
    assert!(b.token > a.token);
    assert_eq!(
        common::count(engine.store().as_ref(), &run, "lease-expired", None).await,
        1
    );

    // A comes back: refused.
    let late = engine.complete_remote(a.task, done(a.token)).await;
    assert!(
        matches!(late, Err(EngineError::LeaseLost { .. })),
        "{late:?}"
    );
    let ok = engine.complete_remote(b.task, done(b.token)).await.unwrap();
    assert!(ok.run_finished, "{ok:?}");
}
