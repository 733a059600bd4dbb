//! The PostgreSQL store's schema and what is only PostgreSQL's: migrations
//! applied once by daemons starting together and refused from a newer weft,
//! the password kept out of every message, `verify` on rows changed behind
//! the store's back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test should fail loudly"
)]

mod support;

use serde_json::json;
use support::{T0, admin, config, fresh_store, one_task, server};
use weft_pg_harness::unique_name;
use weft_store_api::StoreError;
use weft_store_api::prelude::*;
use weft_store_postgres::{MIGRATIONS, PgConfig, PgStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daemons_connecting_together_apply_each_migration_once() {
    let schema = unique_name("m");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let config = config(&schema);
        set.spawn(async move { PgStore::connect(config).await.unwrap() });
    }
    let mut stores = Vec::new();
    while let Some(store) = set.join_next().await {
        stores.push(store.unwrap());
    }
    let all: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(stores[0].applied_migrations().await.unwrap(), all);
    assert!(stores[0].pending_migrations().await.unwrap().is_empty());
    assert!(
        stores[0].migrate().await.unwrap().is_empty(),
        "nothing left to apply"
    );
    // Every handle works on the one schema.
    stores[1].submit_run(one_task("a"), T0).await.unwrap();
    assert_eq!(
        stores[5].queue_stats(T0).await.unwrap().ready_by_pool["p"],
        1
    );
}

/// A schema migrated by a newer weft is refused, not written to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_from_a_newer_weft_is_refused() {
    let (store, schema) = fresh_store().await;
    drop(store);
    admin(&schema)
        .await
        .execute(
            "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')",
            &[],
        )
        .await
        .unwrap();
    let err = PgStore::connect(config(&schema)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(
        err.to_string().contains("newer than this weft knows"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_shows_the_password() {
    let port = server().port();
    let url = format!("postgres://postgres:hunter2-secret@127.0.0.1:{port}/postgres");
    let schema = unique_name("pw");
    let store = PgStore::connect(PgConfig {
        url,
        schema: schema.clone(),
        pool_size: 2,
    })
    .await
    .unwrap();
    assert_eq!(
        store.describe(),
        format!("postgres 127.0.0.1:{port}/postgres schema {schema}")
    );
    assert!(!format!("{store:?}").contains("hunter2"));
    // Nothing listens on this port: unavailable, naming the server only.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let config = PgConfig::new(format!("postgres://u:hunter2-secret@127.0.0.1:{dead}/weft"));
    assert!(!format!("{config:?}").contains("hunter2"));
    let err = PgStore::connect(config).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(text.contains(&format!("127.0.0.1:{dead}/weft")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let bad = PgStore::connect(PgConfig::new("postgres://u:hunter2@h:x/d"))
        .await
        .unwrap_err();
    assert!(!bad.to_string().contains("hunter2"), "{bad}");
}

/// `verify` names a forged event, and a run whose end was cut off with its
/// head rewound, as on redb.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_forged_event_and_a_cut_off_end() {
    let (store, schema) = fresh_store().await;
    let forged = store.submit_run(one_task("a"), T0).await.unwrap().run_id;
    store
        .artifact_put(&forged, "k", json!(1), T0 + 1)
        .await
        .unwrap();
    store
        .artifact_put(&forged, "k", json!(2), T0 + 2)
        .await
        .unwrap();
    let cut = store.submit_run(one_task("b"), T0).await.unwrap().run_id;
    store.cancel(&cut, None, T0 + 3).await.unwrap();
    assert!(store.verify(&forged).await.unwrap().is_ok());
    assert!(store.verify(&cut).await.unwrap().is_ok());
    let sql = admin(&schema).await;
    sql.execute(
        "UPDATE ledger SET payload = '{\"bytes\":9,\"key\":\"k\"}' WHERE run_id = $1 AND seq = 2",
        &[&forged],
    )
    .await
    .unwrap();
    let report = store.verify(&forged).await.unwrap();
    let bad = report.first_bad.unwrap();
    assert_eq!((report.events, bad.seq), (1, 2));
    assert!(bad.reason.contains("hash does not match"), "{}", bad.reason);
    sql.batch_execute(&format!(
        "DELETE FROM ledger WHERE run_id = '{cut}' AND seq = 2; \
         UPDATE ledger_head SET (seq, hash) = (SELECT seq, decode(hash, 'hex') FROM ledger \
         WHERE run_id = '{cut}' AND seq = 1) WHERE run_id = '{cut}'"
    ))
    .await
    .unwrap();
    let bad = store.verify(&cut).await.unwrap().first_bad.unwrap();
    assert!(
        bad.reason.contains("no run-cancelled event"),
        "{}",
        bad.reason
    );
    assert!(matches!(
        store.verify("acme-2026-11-22-999-zzz").await,
        Err(StoreError::RunNotFound(_))
    ));
}
