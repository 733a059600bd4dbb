//! Small helpers the cases share: a fixed clock origin, runs and tasks.

use serde_json::json;
use weft_store_api::{Lease, NewRun, NewTask, SharedStore, WorkerSite};

/// 2026-11-22T00:00:00Z in ms.
pub const T0: u64 = 1_795_305_600_000;

/// A task of `step` in `pool` with `priority`.
pub fn task(step: &str, pool: &str, priority: u32) -> NewTask {
    NewTask {
        step_id: step.into(),
        pool: pool.into(),
        priority,
    }
}

/// A run of flow `demo` for tenant `acme` with the given first tasks.
pub fn run(tasks: Vec<NewTask>) -> NewRun {
    NewRun {
        flow_id: "demo".into(),
        flow_version: "1".into(),
        tenant: "acme".into(),
        input: json!({"n": 1}),
        priority: 0,
        idempotency_key: None,
        id_prefix: "acme".into(),
        not_before: None,
        initial_tasks: tasks,
    }
}

/// Leases the best task of any pool for `owner` (a remote worker) at `now`
/// for `ms`; panics when nothing is ready.
#[allow(clippy::expect_used, reason = "a test helper fails loudly")]
pub async fn lease(store: &SharedStore, owner: &str, ms: u64, now: u64) -> Lease {
    store
        .lease(owner, None, ms, WorkerSite::Remote, now)
        .await
        .expect("lease")
        .expect("a ready task")
}

/// Submits a one-task run in `pool` and returns (run id, task id).
#[allow(clippy::expect_used, reason = "a test helper fails loudly")]
pub async fn one_task_run(store: &SharedStore, step: &str, pool: &str, now: u64) -> (String, u64) {
    let s = store
        .submit_run(run(vec![task(step, pool, 0)]), now)
        .await
        .expect("submit");
    let tasks = store.tasks_of(&s.run_id).await.expect("tasks");
    (s.run_id, tasks[0].id)
}
