//! The checks a store makes atomically so that they hold across processes:
//! a pool's cap and rate in a conditional lease, a budget reservation.

use serde_json::json;
use weft_store_api::{
    BudgetAsk, BudgetReply, Charge, LeaseTry, Limited, PoolCap, RateCap, SharedStore, StoreError,
    StrictPool, ViewLimits, WorkerSite,
};

use crate::Backend;
use crate::support::{T0, one_task_run, run, task};

const MINUTE: u64 = 60_000;

fn cap(max_concurrent: u32) -> PoolCap {
    PoolCap {
        max_concurrent,
        rate: None,
    }
}

async fn try_lease(store: &SharedStore, task: u64, cap: PoolCap, now: u64) -> LeaseTry {
    store
        .lease_task("w", task, "test", MINUTE, WorkerSite::InProcess, cap, now)
        .await
        .unwrap()
}

/// Forty conditional leases at once against a cap of 3 lease exactly 3, in
/// each of several pools (a race shows on some rounds, not all).
pub async fn concurrent_conditional_leases_never_pass_the_cap(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    for round in 0..6 {
        let pool = format!("p{round}");
        let mut ids = Vec::new();
        for i in 0..40 {
            ids.push(
                one_task_run(&store, &format!("s{round}-{i}"), &pool, T0)
                    .await
                    .1,
            );
        }
        let mut set = tokio::task::JoinSet::new();
        for id in ids {
            let store = store.clone();
            set.spawn(async move { try_lease(&store, id, cap(3), T0).await });
        }
        let mut leased = 0;
        while let Some(done) = set.join_next().await {
            match done.unwrap() {
                LeaseTry::Leased(_) => leased += 1,
                LeaseTry::Full => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(leased, 3, "pool {pool}");
        let limits = ViewLimits {
            candidates: 0,
            per_tenant: 0,
            scan: 0,
        };
        let view = store.pool_view(&pool, limits, T0).await.unwrap();
        assert_eq!(view.running.len(), 3, "pool {pool}");
        assert_eq!(view.queued_total, 37, "pool {pool}");
    }
}

/// A full pool, a task gone and an empty bucket are answered without a
/// write; a completion or an expiry frees a slot; the bucket refills.
pub async fn a_full_or_rate_limited_pool_refuses_and_writes_nothing(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(one_task_run(&store, &format!("s{i}"), "p", T0).await);
    }
    let LeaseTry::Leased(first) = try_lease(&store, ids[0].1, cap(1), T0).await else {
        panic!("a free slot")
    };
    let before = store.ledger(&ids[1].0).await.unwrap().len();
    assert_eq!(
        try_lease(&store, ids[1].1, cap(1), T0).await,
        LeaseTry::Full
    );
    assert_eq!(store.ledger(&ids[1].0).await.unwrap().len(), before);
    assert_eq!(
        store.task_get(ids[1].1).await.unwrap().unwrap().last_token,
        0
    );
    assert_eq!(
        try_lease(&store, ids[0].1, cap(9), T0).await,
        LeaseTry::Gone
    );
    assert_eq!(try_lease(&store, 9_999, cap(9), T0).await, LeaseTry::Gone);
    store
        .complete(first.task, first.token, json!(1), vec![], None, T0 + 1)
        .await
        .unwrap();
    let LeaseTry::Leased(second) = try_lease(&store, ids[1].1, cap(1), T0 + 2).await else {
        panic!("the completion freed the slot")
    };
    let event = store.ledger(&ids[1].0).await.unwrap().pop().unwrap();
    assert_eq!(event.kind, "step-started");
    assert_eq!(event.payload["admitted_by"], json!("test"));
    assert_eq!(event.payload["pool"], json!("p"));
    // The lease runs out after a minute: its slot is free again.
    assert!(matches!(
        try_lease(&store, ids[2].1, cap(1), second.expires_at).await,
        LeaseTry::Leased(_)
    ));

    // One token a minute, a burst of 1.
    let rate = PoolCap {
        max_concurrent: 10,
        rate: Some(RateCap {
            per_minute: 1.0,
            burst: 1,
        }),
    };
    let (_, a) = one_task_run(&store, "ra", "r", T0).await;
    let (_, c) = one_task_run(&store, "rc", "r", T0).await;
    assert!(matches!(
        try_lease(&store, a, rate, T0).await,
        LeaseTry::Leased(_)
    ));
    assert_eq!(
        try_lease(&store, c, rate, T0).await,
        LeaseTry::RateLimited {
            next_token_at: T0 + MINUTE
        }
    );
    let bucket = store
        .pool_view(
            "r",
            ViewLimits {
                candidates: 1,
                per_tenant: 1,
                scan: 1,
            },
            T0,
        )
        .await
        .unwrap()
        .bucket;
    assert_eq!(bucket.map(|b| b.micro_tokens), Some(0));
    assert!(matches!(
        try_lease(&store, c, rate, T0 + MINUTE).await,
        LeaseTry::Leased(_)
    ));
}

/// Fifty reservations of 10 at once against a limit of 235 reserve exactly
/// 23; a release and a charge free what they held; a lapsed reservation
/// holds nothing.
pub async fn concurrent_reservations_admit_exactly_what_fits(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let ask = |micro_usd: u64, expires_at: u64| BudgetAsk {
        day: "2026-11-22".into(),
        tenant: "acme".into(),
        pool: "p".into(),
        micro_usd,
        tenant_limit: Some(235),
        pool_limit: None,
        expires_at,
    };
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = store.clone();
        let ask = ask(10, T0 + MINUTE);
        set.spawn(async move { store.reserve_budget(ask, T0).await.unwrap() });
    }
    let mut ids = Vec::new();
    while let Some(reply) = set.join_next().await {
        match reply.unwrap() {
            BudgetReply::Reserved { id } => ids.push(id),
            BudgetReply::Exceeded { limited, limit, .. } => {
                assert_eq!((limited, limit), (Limited::Tenant, 235));
            }
        }
    }
    assert_eq!(ids.len(), 23);
    let refused = store
        .reserve_budget(ask(10, T0 + MINUTE), T0)
        .await
        .unwrap();
    assert_eq!(
        refused,
        BudgetReply::Exceeded {
            limited: Limited::Tenant,
            spent: 0,
            reserved: 230,
            limit: 235
        }
    );
    store.release_budget(ids[0], T0).await.unwrap();
    store.release_budget(ids[0], T0).await.unwrap();
    assert!(matches!(
        store
            .reserve_budget(ask(10, T0 + MINUTE), T0)
            .await
            .unwrap(),
        BudgetReply::Reserved { .. }
    ));
    // A charge replaces its reservation: spent 7, reserved 220.
    let (run, _) = one_task_run(&store, "a", "p", T0).await;
    let charge = Charge {
        day: "2026-11-22".into(),
        pool: "p".into(),
        model: "m".into(),
        input_tokens: 1,
        output_tokens: 1,
        micro_usd: 7,
        reservation: Some(ids[1]),
    };
    assert!(
        store
            .journal_put_charged(&run, "a", 0, json!("x"), charge, T0)
            .await
            .unwrap()
    );
    assert_eq!(
        store.reserve_budget(ask(9, T0 + MINUTE), T0).await.unwrap(),
        BudgetReply::Exceeded {
            limited: Limited::Tenant,
            spent: 7,
            reserved: 220,
            limit: 235
        }
    );
    // At their expiry every reservation lapses.
    assert!(matches!(
        store
            .reserve_budget(ask(228, T0 + 2 * MINUTE), T0 + MINUTE)
            .await
            .unwrap(),
        BudgetReply::Reserved { .. }
    ));
}

/// A tenant queued behind another's flood deeper than a view may read is
/// still a candidate, and the queued count is exact.
pub async fn a_tenant_behind_a_flood_is_a_candidate(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let run_of = |tenant: &str, step: String| {
        let mut r = crate::support::run(vec![crate::support::task(&step, "p", 0)]);
        r.tenant = tenant.into();
        r.id_prefix = tenant.into();
        r
    };
    for chunk in 0..6u64 {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..50 {
            let store = store.clone();
            let new = run_of("flood", format!("s{chunk}-{i}"));
            set.spawn(async move { store.submit_run(new, T0 + chunk).await.unwrap() });
        }
        while set.join_next().await.is_some() {}
    }
    store
        .submit_run(run_of("late", "x".into()), T0 + 100)
        .await
        .unwrap();
    let limits = ViewLimits {
        candidates: 32,
        per_tenant: 8,
        scan: 64,
    };
    let view = store.pool_view("p", limits, T0 + 200).await.unwrap();
    assert_eq!(view.queued_total, 301);
    let seen: Vec<&str> = view.queued.iter().map(|t| t.tenant.as_str()).collect();
    assert_eq!(seen.iter().filter(|t| **t == "flood").count(), 8);
    assert_eq!(seen.last(), Some(&"late"), "{seen:?}");
    let since: Vec<u64> = view.queued.iter().map(|t| t.since_ms).collect();
    assert!(since.windows(2).all(|w| w[0] <= w[1]), "{since:?}");
    assert_eq!(store.ready_pools().await.unwrap(), ["p"]);
}

/// Thirty submits at once into a strict pool of 3 (`on_exhausted: fail`)
/// create exactly 3 runs; the others are refused and write nothing. A lease
/// leaves the pool full (queued becomes running), an idempotency hit is still
/// answered, a completion makes room for one more.
pub async fn submits_into_a_full_strict_pool_are_refused(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let strict = [StrictPool {
        pool: "s".into(),
        max_concurrent: 3,
    }];
    let mut set = tokio::task::JoinSet::new();
    for n in 0..30 {
        let (store, strict) = (store.clone(), strict.clone());
        set.spawn(async move {
            let mut new = run(vec![task("a", "s", 0)]);
            new.idempotency_key = Some((format!("k{n}"), MINUTE));
            (n, store.submit_run_capped(new, &strict, T0).await)
        });
    }
    let (mut created, mut refused) = (Vec::new(), 0);
    while let Some(done) = set.join_next().await {
        match done.unwrap() {
            (n, Ok(s)) => created.push((n, s)),
            (_, Err(StoreError::PoolExhausted { pool, max, .. })) => {
                assert_eq!((pool.as_str(), max), ("s", 3));
                refused += 1;
            }
            (_, Err(other)) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created.len(), refused), (3, 27));
    assert_eq!(store.run_ids().await.unwrap().len(), 3);

    // A pool the run does not enter is not checked; another pool is free.
    let other = store
        .submit_run_capped(run(vec![task("a", "free", 0)]), &strict, T0)
        .await
        .unwrap();
    assert!(other.created);

    let cap3 = PoolCap {
        max_concurrent: 3,
        rate: None,
    };
    let first = store.tasks_of(&created[0].1.run_id).await.unwrap()[0].id;
    let LeaseTry::Leased(lease) = try_lease(&store, first, cap3, T0).await else {
        panic!("a free slot")
    };
    let err = store
        .submit_run_capped(run(vec![task("a", "s", 0)]), &strict, T0)
        .await
        .unwrap_err();
    let StoreError::PoolExhausted { active, queued, .. } = err else {
        panic!("{err}")
    };
    assert_eq!((active, queued), (1, 2));

    // The key of a created run names it, full pool or not.
    let (n, first_run) = &created[0];
    let mut resent = run(vec![task("a", "s", 0)]);
    resent.idempotency_key = Some((format!("k{n}"), MINUTE));
    let hit = store
        .submit_run_capped(resent, &strict, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        (hit.run_id.as_str(), hit.created),
        (first_run.run_id.as_str(), false)
    );

    store
        .complete(lease.task, lease.token, json!(1), vec![], None, T0 + 1)
        .await
        .unwrap();
    let again = store
        .submit_run_capped(run(vec![task("a", "s", 0)]), &strict, T0 + 2)
        .await
        .unwrap();
    assert!(again.created);
    assert!(matches!(
        store
            .submit_run_capped(run(vec![task("a", "s", 0)]), &strict, T0 + 2)
            .await,
        Err(StoreError::PoolExhausted { .. })
    ));
}
