//! One PostgreSQL store shared by several handles, as by several daemons:
//! two handles drain one queue leasing each task once, the `LISTEN`
//! connection comes back after it is killed, a cancelled caller leaves no
//! open transaction behind, and the figures of a lease → complete loop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test should fail loudly"
)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{T0, config, fresh_store, one_task, server};
use weft_pg_harness::unique_name;
use weft_store_api::prelude::*;
use weft_store_api::{RunStatus, WorkerSite};
use weft_store_postgres::{PgConfig, PgStore};

/// Two handles on one schema (two daemons) with eight workers each drain one
/// queue: every task is completed once, none is refused, every run ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_daemons_drain_one_queue_and_lease_each_task_once() {
    let (a, schema) = fresh_store().await;
    let b = PgStore::connect(config(&schema)).await.unwrap();
    let mut runs = Vec::new();
    for i in 0..120 {
        runs.push(
            a.submit_run(one_task(&format!("s{i}")), T0)
                .await
                .unwrap()
                .run_id,
        );
    }
    let mut set = tokio::task::JoinSet::new();
    for (n, store) in [a.clone(), b.clone()]
        .into_iter()
        .cycle()
        .take(16)
        .enumerate()
    {
        set.spawn(async move {
            let mut done = Vec::new();
            while let Some(l) = store
                .lease(&format!("w{n}"), None, 60_000, WorkerSite::Remote, T0 + 1)
                .await
                .unwrap()
            {
                store
                    .complete(
                        l.task,
                        l.token,
                        json!(n),
                        vec![],
                        Some(weft_store_api::RunOutcome::Succeeded { output: json!(n) }),
                        T0 + 2,
                    )
                    .await
                    .unwrap();
                done.push(l.task);
            }
            done
        });
    }
    let mut count: BTreeMap<u64, usize> = BTreeMap::new();
    while let Some(done) = set.join_next().await {
        for task in done.unwrap() {
            *count.entry(task).or_default() += 1;
        }
    }
    assert_eq!(count.len(), 120);
    assert!(
        count.values().all(|n| *n == 1),
        "a task leased twice: {count:?}"
    );
    println!(
        "two daemons: {} + {} transactions run again",
        a.retries(),
        b.retries()
    );
    assert_eq!(a.counters().await.unwrap().stale_refusals, 0);
    for run in &runs {
        assert_eq!(
            b.run_get(run).await.unwrap().unwrap().status,
            RunStatus::Succeeded
        );
        assert!(b.verify(run).await.unwrap().is_ok());
    }
    assert!(
        b.writer_stats().commits > 0 && a.writer_stats().commits > b.writer_stats().commits / 2
    );
}

/// The `LISTEN` connection comes back after the server drops it, and commits
/// of another handle wake this one again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_after_its_connection_is_killed() {
    let (a, schema) = fresh_store().await;
    let b = PgStore::connect(config(&schema)).await.unwrap();
    b.listening().await;
    assert_eq!(b.listens(), 1);
    let (client, conn) = tokio_postgres::connect(&server().url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let n = client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&format!("weft-listen {schema}")],
        )
        .await
        .unwrap();
    assert_eq!(n, 2, "both handles' listeners");
    let deadline = Instant::now() + Duration::from_secs(20);
    while b.listens() < 2 {
        assert!(Instant::now() < deadline, "the listener did not come back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rx = b.commits();
    rx.borrow_and_update();
    a.submit_run(one_task("z"), T0).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .expect("a commit of the other handle is heard again")
        .unwrap();
}

/// A caller that gives up mid-transaction (its future dropped) leaves no
/// connection inside an open transaction: the connection is closed, and the
/// pool keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_operation_leaves_no_open_transaction() {
    let schema = unique_name("cancel");
    let app = format!("weft-cancel-{schema}");
    let url = format!("{}?application_name={app}", server().url());
    let store = PgStore::connect(PgConfig {
        url,
        schema,
        pool_size: 2,
    })
    .await
    .unwrap();
    store.submit_run(one_task("warm"), T0).await.unwrap();
    for i in 0..40u64 {
        // Give up after a varying sliver of time: somewhere inside the
        // transaction, or before it, or after.
        let _ = tokio::time::timeout(
            Duration::from_micros(50 * (i % 10)),
            store.submit_run(one_task("c"), T0),
        )
        .await;
    }
    let (client, conn) = tokio_postgres::connect(&server().url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let open: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                 AND state LIKE 'idle in transaction%'",
                &[&app],
            )
            .await
            .unwrap()
            .get(0);
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} connections stay inside a transaction"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..10 {
        store
            .submit_run(one_task(&format!("after{i}")), T0)
            .await
            .unwrap();
    }
    let stats = store.queue_stats(T0).await.unwrap();
    assert!(stats.ready_by_pool["p"] >= 11);
}

/// Figures: a sequential lease → complete loop, and eight workers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_complete_loop_figures() {
    let (store, _) = fresh_store().await;
    let n = 300;
    for i in 0..n {
        store
            .submit_run(one_task(&format!("s{i}")), T0)
            .await
            .unwrap();
    }
    let start = Instant::now();
    for _ in 0..n / 2 {
        let l = store
            .lease("w", None, 60_000, WorkerSite::InProcess, T0 + 1)
            .await
            .unwrap()
            .unwrap();
        store
            .complete(l.task, l.token, json!(1), vec![], None, T0 + 2)
            .await
            .unwrap();
    }
    let sequential = f64::from(n / 2) / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..8 {
        let store = store.clone();
        set.spawn(async move {
            let mut done = 0u32;
            while let Some(l) = store
                .lease(
                    &format!("w{w}"),
                    None,
                    60_000,
                    WorkerSite::InProcess,
                    T0 + 3,
                )
                .await
                .unwrap()
            {
                store
                    .complete(l.task, l.token, json!(1), vec![], None, T0 + 4)
                    .await
                    .unwrap();
                done += 1;
            }
            done
        });
    }
    let mut done = 0;
    while let Some(d) = set.join_next().await {
        done += d.unwrap();
    }
    let parallel = f64::from(done) / start.elapsed().as_secs_f64();
    assert_eq!(done, n / 2);
    // One commit per step: each completion leases the next task.
    let chained = 100;
    for i in 0..chained {
        store
            .submit_run(one_task(&format!("k{i}")), T0)
            .await
            .unwrap();
    }
    let next = weft_store_api::NextLease {
        owner: "w".into(),
        pools: None,
        lease_ms: 60_000,
    };
    let start = Instant::now();
    let mut l = store
        .lease("w", None, 60_000, WorkerSite::InProcess, T0 + 1)
        .await
        .unwrap();
    let mut steps = 0u32;
    while let Some(lease) = l {
        let (_, following) = store
            .complete_step_and_lease(
                lease.task,
                lease.token,
                json!(1),
                weft_store_api::Advance::default(),
                &next,
                T0 + 2,
            )
            .await
            .unwrap();
        l = following;
        steps += 1;
    }
    let one_commit = f64::from(steps) / start.elapsed().as_secs_f64();
    assert_eq!(steps, chained);
    println!(
        "postgres lease→complete: {sequential:.0} steps/s sequential (two commits a step), \
         {one_commit:.0} steps/s with complete_step_and_lease (one), \
         {parallel:.0} steps/s with 8 workers"
    );
    assert!(sequential > 5.0, "{sequential}");
}

/// When the server drops the pool's connections, an operation in flight is
/// answered `Unavailable` (never a panic, never a wrong answer) and the next
/// ones work on new connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_recovers_after_the_server_drops_its_connections() {
    let schema = unique_name("drop");
    let app = format!("weft-drop-{schema}");
    let url = format!("{}?application_name={app}", server().url());
    let store = PgStore::connect(PgConfig {
        url,
        schema,
        pool_size: 3,
    })
    .await
    .unwrap();
    for i in 0..3 {
        store
            .submit_run(one_task(&format!("w{i}")), T0)
            .await
            .unwrap();
    }
    let (client, conn) = tokio_postgres::connect(&server().url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let killed = client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    assert!(killed >= 1);
    let mut failures = 0;
    let mut done = 0;
    for i in 0..12 {
        match store.submit_run(one_task(&format!("a{i}")), T0).await {
            Ok(_) => done += 1,
            Err(weft_store_api::StoreError::Unavailable(why)) => {
                assert!(why.contains("lost"), "{why}");
                failures += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        failures <= 3,
        "{failures} operations failed on dropped connections"
    );
    assert!(done >= 9);
    let ready = store.queue_stats(T0).await.unwrap().ready_by_pool["p"];
    assert_eq!(ready, 3 + done);
}

/// `close` waits for the operations in flight and then refuses new ones:
/// every submit answered `Ok` had committed when `close` returned, and none
/// commits after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_waits_for_operations_in_flight_then_refuses() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (store, schema) = fresh_store().await;
    let acks = Arc::new(AtomicU64::new(0));
    let started = Arc::new(tokio::sync::Notify::new());
    let mut set = tokio::task::JoinSet::new();
    for w in 0..12 {
        let (store, acks, started) = (store.clone(), Arc::clone(&acks), Arc::clone(&started));
        set.spawn(async move {
            for i in 0.. {
                match store.submit_run(one_task(&format!("c{w}-{i}")), T0).await {
                    Ok(_) => {
                        if acks.fetch_add(1, Ordering::SeqCst) == 40 {
                            started.notify_one();
                        }
                    }
                    Err(weft_store_api::StoreError::Unavailable(why)) => {
                        assert!(why.contains("closed"), "{why}");
                        return;
                    }
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        });
    }
    // Close while twelve writers are busy.
    started.notified().await;
    store.close().await;
    let again = PgStore::connect(config(&schema)).await.unwrap();
    let ready =
        |stats: weft_store_api::QueueStats| stats.ready_by_pool.get("p").copied().unwrap_or(0);
    let at_close = ready(again.queue_stats(T0).await.unwrap());
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    let acked = acks.load(Ordering::SeqCst);
    assert!(acked > 40);
    assert_eq!(at_close, acked, "a write committed after close returned");
    assert_eq!(ready(again.queue_stats(T0).await.unwrap()), acked);
    let err = store.submit_run(one_task("late"), T0).await.unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}
