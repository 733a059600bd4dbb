//! Helpers shared by the store's integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use serde_json::json;
use weft_store_api::{NewRun, NewTask};
use weft_store_redb::RedbStore;

/// 2026-11-22T00:00:00Z in ms.
pub const T0: u64 = 1_795_305_600_000;

/// A fresh store in a temporary folder (kept alive by the returned guard).
pub fn temp_store() -> (tempfile::TempDir, RedbStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(dir.path().join("weft.redb")).expect("open");
    (dir, store)
}

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
