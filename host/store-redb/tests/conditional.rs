//! The checks the store makes atomically, so that they hold across processes:
//! a pool's concurrency cap and rate limit in a conditional lease, and a
//! budget reservation checked against spent + reserved in one transaction.
//! Each is attacked by concurrent callers, the way several daemons would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::prelude::*;
use weft_store_api::{
    BudgetAsk, BudgetReply, Charge, LeaseTry, Limited, PoolCap, RateCap, ViewLimits, WorkerSite,
};
use weft_store_redb::RedbStore;

const MINUTE: u64 = 60_000;

fn cap(max_concurrent: u32) -> PoolCap {
    PoolCap {
        max_concurrent,
        rate: None,
    }
}

/// Submits `n` one-task runs in pool `p`; returns their task ids.
async fn tasks(store: &RedbStore, n: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let s = store
            .submit_run(run(vec![task(&format!("s{i}"), "p", 0)]), T0)
            .await
            .unwrap();
        let tasks = store.tasks_of(&s.run_id).await.unwrap();
        ids.push(tasks[0].id);
    }
    ids
}

async fn lease(store: &RedbStore, task: u64, cap: PoolCap, now: u64) -> LeaseTry {
    store
        .lease_task("w", task, "test", MINUTE, WorkerSite::InProcess, cap, now)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_pool_refuses_a_lease_and_writes_nothing() {
    let (_dir, store) = common::temp_store();
    let ids = tasks(&store, 3).await;
    let LeaseTry::Leased(first) = lease(&store, ids[0], cap(2), T0).await else {
        panic!("a free slot")
    };
    assert!(matches!(
        lease(&store, ids[1], cap(2), T0).await,
        LeaseTry::Leased(_)
    ));
    let third = store.task_get(ids[2]).await.unwrap().unwrap();
    let events_before = store.ledger(&third.run_id).await.unwrap().len();
    assert_eq!(lease(&store, ids[2], cap(2), T0).await, LeaseTry::Full);
    let after = store.task_get(ids[2]).await.unwrap().unwrap();
    assert_eq!(after.state, third.state, "a refused lease changes nothing");
    assert_eq!(
        store.ledger(&third.run_id).await.unwrap().len(),
        events_before
    );
    // The completion frees the slot in its own commit.
    store
        .complete(first.task, first.token, json!({}), vec![], None, T0 + 1)
        .await
        .unwrap();
    assert!(matches!(
        lease(&store, ids[2], cap(2), T0 + 2).await,
        LeaseTry::Leased(_)
    ));
    // A task already leased is gone, whatever the cap.
    assert_eq!(lease(&store, ids[2], cap(9), T0 + 3).await, LeaseTry::Gone);
}

#[tokio::test]
async fn a_lease_that_ran_out_frees_its_slot() {
    let (_dir, store) = common::temp_store();
    let ids = tasks(&store, 2).await;
    store
        .lease_task("w", ids[0], "test", 100, WorkerSite::Remote, cap(1), T0)
        .await
        .unwrap();
    assert_eq!(lease(&store, ids[1], cap(1), T0 + 99).await, LeaseTry::Full);
    assert!(matches!(
        lease(&store, ids[1], cap(1), T0 + 100).await,
        LeaseTry::Leased(_)
    ));
}

#[tokio::test]
async fn concurrent_leases_never_pass_the_cap() {
    let (_dir, store) = common::temp_store();
    let ids = tasks(&store, 40).await;
    let mut leases = tokio::task::JoinSet::new();
    for id in ids {
        let store = store.clone();
        leases.spawn(async move { lease(&store, id, cap(3), T0).await });
    }
    let mut leased = 0;
    while let Some(done) = leases.join_next().await {
        match done.unwrap() {
            LeaseTry::Leased(_) => leased += 1,
            LeaseTry::Full => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(leased, 3);
    let limits = ViewLimits {
        candidates: 0,
        per_tenant: 0,
        scan: 0,
    };
    assert_eq!(
        store
            .pool_view("p", limits, T0)
            .await
            .unwrap()
            .running
            .len(),
        3
    );
}

#[tokio::test]
async fn the_rate_limit_is_a_bucket_the_store_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let rated = PoolCap {
        max_concurrent: 100,
        rate: Some(RateCap {
            per_minute: 60.0,
            burst: 2,
        }),
    };
    let ids = {
        let store = RedbStore::open(&path).unwrap();
        let ids = tasks(&store, 4).await;
        for id in &ids[..2] {
            let got = store
                .lease_task("w", *id, "test", MINUTE, WorkerSite::Remote, rated, T0)
                .await
                .unwrap();
            assert!(matches!(got, LeaseTry::Leased(_)));
        }
        store.close().await;
        ids
    };
    // The bucket outlives the process: a second one sees it empty.
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        lease(&store, ids[2], rated, T0 + 10).await,
        LeaseTry::RateLimited {
            next_token_at: T0 + 1_000
        }
    );
    let limits = ViewLimits {
        candidates: 0,
        per_tenant: 0,
        scan: 0,
    };
    let bucket = store.pool_view("p", limits, T0 + 10).await.unwrap().bucket;
    assert_eq!(bucket.map(|b| b.at_ms), Some(T0));
    assert!(matches!(
        lease(&store, ids[2], rated, T0 + 1_000).await,
        LeaseTry::Leased(_)
    ));
    assert!(matches!(
        lease(&store, ids[3], rated, T0 + 1_001).await,
        LeaseTry::RateLimited { .. }
    ));
}

fn ask(micro_usd: u64, tenant_limit: Option<u64>, pool_limit: Option<u64>) -> BudgetAsk {
    BudgetAsk {
        day: "2026-11-22".into(),
        tenant: "acme".into(),
        pool: "p".into(),
        micro_usd,
        tenant_limit,
        pool_limit,
        expires_at: T0 + MINUTE,
    }
}

#[tokio::test]
async fn concurrent_reservations_never_pass_a_budget() {
    let (_dir, store) = common::temp_store();
    let mut asks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = store.clone();
        asks.spawn(async move { store.reserve_budget(ask(100, Some(1_000), None), T0).await });
    }
    let mut granted = Vec::new();
    while let Some(done) = asks.join_next().await {
        match done.unwrap().unwrap() {
            BudgetReply::Reserved { id } => granted.push(id),
            BudgetReply::Exceeded {
                limited,
                spent,
                reserved,
                limit,
            } => {
                assert_eq!((limited, spent, limit), (Limited::Tenant, 0, 1_000));
                assert!(reserved + 100 > 1_000, "refused with room left: {reserved}");
            }
        }
    }
    assert_eq!(granted.len(), 10);
    // A release makes room for exactly one more.
    store.release_budget(granted[0], T0).await.unwrap();
    store.release_budget(granted[0], T0).await.unwrap();
    let again = store
        .reserve_budget(ask(100, Some(1_000), None), T0)
        .await
        .unwrap();
    assert!(matches!(again, BudgetReply::Reserved { .. }));
    let full = store
        .reserve_budget(ask(100, Some(1_000), None), T0)
        .await
        .unwrap();
    assert!(matches!(full, BudgetReply::Exceeded { .. }));
}

#[tokio::test]
async fn a_charge_takes_its_reservations_place_in_one_transaction() {
    let (_dir, store) = common::temp_store();
    let submitted = store
        .submit_run(run(vec![task("s", "p", 0)]), T0)
        .await
        .unwrap();
    let BudgetReply::Reserved { id } = store
        .reserve_budget(ask(500, Some(1_000), Some(1_000)), T0)
        .await
        .unwrap()
    else {
        panic!("within the budget")
    };
    let charge = Charge {
        day: "2026-11-22".into(),
        pool: "p".into(),
        model: "m".into(),
        input_tokens: 1,
        output_tokens: 1,
        micro_usd: 300,
        reservation: Some(id),
    };
    let stored = store
        .journal_put_charged(
            &submitted.run_id,
            "s",
            0,
            json!({"text": "hi"}),
            charge,
            T0 + 1,
        )
        .await
        .unwrap();
    assert!(stored);
    // 300 spent, nothing reserved: 700 fits exactly, then nothing more.
    let fits = store
        .reserve_budget(ask(700, Some(1_000), None), T0 + 2)
        .await
        .unwrap();
    assert!(matches!(fits, BudgetReply::Reserved { .. }), "{fits:?}");
    let over = store
        .reserve_budget(ask(1, None, Some(1_000)), T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        over,
        BudgetReply::Exceeded {
            limited: Limited::Pool,
            spent: 300,
            reserved: 700,
            limit: 1_000
        }
    );
}

#[tokio::test]
async fn a_reservation_of_a_process_that_died_lapses_at_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        let mut held = ask(1_000, Some(1_000), None);
        held.expires_at = T0 + 10;
        let reply = store.reserve_budget(held, T0).await.unwrap();
        assert!(matches!(reply, BudgetReply::Reserved { .. }));
        // A durable commit after it carries the reservation to disk.
        store
            .submit_run(run(vec![task("s", "p", 0)]), T0)
            .await
            .unwrap();
        store.close().await;
    }
    let store = RedbStore::open(&path).unwrap();
    let early = store
        .reserve_budget(ask(1, Some(1_000), None), T0 + 9)
        .await
        .unwrap();
    assert!(
        matches!(
            early,
            BudgetReply::Exceeded {
                reserved: 1_000,
                ..
            }
        ),
        "{early:?}"
    );
    let lapsed = store
        .reserve_budget(ask(1, Some(1_000), None), T0 + 10)
        .await
        .unwrap();
    assert!(matches!(lapsed, BudgetReply::Reserved { .. }), "{lapsed:?}");
}
