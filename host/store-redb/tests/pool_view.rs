//! The pool view admission reads: every tenant's head is a candidate however
//! deep another tenant's flood is, the queued count is exact without reading
//! the queue, and a store written before the per-tenant index is rebuilt at
//! open.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{T0, run, task};
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;
use weft_store_api::{NewRun, PoolView, ViewLimits};
use weft_store_redb::RedbStore;

const LIMITS: ViewLimits = ViewLimits {
    candidates: 32,
    per_tenant: 8,
    scan: 4096,
};

fn run_of(tenant: &str, step: &str, priority: u32) -> NewRun {
    let mut r = run(vec![task(step, "p", priority)]);
    r.tenant = tenant.into();
    r.id_prefix = tenant.into();
    r
}

/// Submits `n` runs of `tenant` concurrently (so their commits group), one
/// task each in pool `p`.
async fn flood(store: &RedbStore, tenant: &str, n: usize, at: u64) {
    let mut submits = tokio::task::JoinSet::new();
    for i in 0..n {
        let store = store.clone();
        let new = run_of(tenant, &format!("s{i}"), 0);
        submits.spawn(async move { store.submit_run(new, at).await });
    }
    while let Some(done) = submits.join_next().await {
        done.unwrap().unwrap();
    }
}

fn tenants(view: &PoolView) -> Vec<String> {
    view.queued.iter().map(|t| t.tenant.clone()).collect()
}

#[tokio::test]
async fn a_tenant_behind_a_flood_deeper_than_the_scan_is_a_candidate() {
    let (_dir, store) = common::temp_store();
    // 5,000 tasks of `flood`, more than the 4,096 entries a view may read,
    // then one of `late`.
    for chunk in 0..50 {
        flood(&store, "flood", 100, T0 + chunk).await;
    }
    store
        .submit_run(run_of("late", "x", 0), T0 + 100)
        .await
        .unwrap();

    let view = store.pool_view("p", LIMITS, T0 + 200).await.unwrap();
    assert_eq!(view.queued_total, 5_001);
    let seen = tenants(&view);
    assert!(seen.contains(&"late".to_owned()), "{seen:?}");
    assert_eq!(seen.iter().filter(|t| *t == "flood").count(), 8);
    // Lease order: the flood's oldest tasks come first, `late` last.
    assert_eq!(
        view.queued.first().map(|t| t.tenant.as_str()),
        Some("flood")
    );
    assert_eq!(view.queued.last().map(|t| t.tenant.as_str()), Some("late"));
    let since: Vec<u64> = view.queued.iter().map(|t| t.since_ms).collect();
    assert!(since.windows(2).all(|w| w[0] <= w[1]), "{since:?}");
}

#[tokio::test]
async fn priority_orders_candidates_across_tenants_and_counts_follow_leases() {
    let (_dir, store) = common::temp_store();
    store.submit_run(run_of("a", "low", 1), T0).await.unwrap();
    store
        .submit_run(run_of("b", "high", 9), T0 + 1)
        .await
        .unwrap();
    store
        .submit_run(run_of("a", "mid", 5), T0 + 2)
        .await
        .unwrap();

    let view = store.pool_view("p", LIMITS, T0 + 3).await.unwrap();
    let steps: Vec<&str> = view.queued.iter().map(|t| t.step.as_str()).collect();
    assert_eq!(steps, ["high", "mid", "low"]);
    assert_eq!(view.queued.first().map(|t| t.priority), Some(9));
    assert_eq!(view.queued_total, 3);

    let lease = store
        .lease("w", None, 60_000, WorkerSite::Remote, T0 + 4)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.step, "high");
    let view = store.pool_view("p", LIMITS, T0 + 5).await.unwrap();
    assert_eq!(view.queued_total, 2);
    assert_eq!(tenants(&view), ["a", "a"]);
    assert_eq!(view.running.len(), 1);

    store.cancel(&lease.run, None, T0 + 6).await.unwrap();
    let filter = weft_store_api::RunFilter {
        tenant: Some("a".into()),
        ..Default::default()
    };
    let of_a = store.runs_list(10, &filter).await.unwrap();
    assert_eq!(of_a.len(), 2);
    store.cancel(&of_a[0].id, None, T0 + 7).await.unwrap();
    let view = store.pool_view("p", LIMITS, T0 + 8).await.unwrap();
    assert_eq!(
        view.queued_total, 1,
        "a cancelled run's ready task leaves the count"
    );
    assert!(
        store
            .pool_view("q", LIMITS, T0 + 8)
            .await
            .unwrap()
            .queued
            .is_empty()
    );
}

#[tokio::test]
async fn a_store_without_the_per_tenant_index_gets_it_rebuilt_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let before = {
        let store = RedbStore::open(&path).unwrap();
        flood(&store, "a", 20, T0).await;
        store.submit_run(run_of("b", "x", 0), T0 + 1).await.unwrap();
        let view = store.pool_view("p", LIMITS, T0 + 2).await.unwrap();
        store.close().await;
        drop(store);
        view
    };
    // Make the file look like one written before the index existed.
    {
        let db = redb::Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(weft_store_redb::tables::READY_BY_TENANT)
            .unwrap();
        tx.delete_table(weft_store_redb::tables::POOL_QUEUED)
            .unwrap();
        tx.open_table(weft_store_redb::tables::COUNTERS)
            .unwrap()
            .remove("ready_index_v1")
            .unwrap();
        tx.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    let after = store.pool_view("p", LIMITS, T0 + 2).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.queued_total, 21);
    assert!(tenants(&after).contains(&"b".to_owned()));
}
