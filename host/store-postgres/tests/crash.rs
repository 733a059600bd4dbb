//! Acknowledged means durable: writers submit, journal and complete against a
//! server that is then stopped the way a crash stops it (immediate shutdown,
//! recovery from the WAL at the next start); after the restart every
//! acknowledged operation is there and every ledger verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test should fail loudly"
)]

mod support;

use std::sync::{Arc, Mutex};

use serde_json::json;
use support::{T0, one_task};
use weft_pg_harness::PgServer;
use weft_store_api::prelude::*;
use weft_store_api::{StoreError, WorkerSite};
use weft_store_postgres::{PgConfig, PgStore};

/// What a writer was told had committed.
#[derive(Default)]
struct Acks {
    runs: Vec<String>,
    journaled: Vec<(String, u32)>,
    completed: Vec<(String, u64)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_a_crash_of_the_server() {
    let mut server = PgServer::start().unwrap_or_else(|e| panic!("{e}"));
    let config = PgConfig {
        url: server.url(),
        schema: "crash".into(),
        pool_size: 8,
    };
    let store = PgStore::connect(config.clone()).await.unwrap();
    let acks = Arc::new(Mutex::new(Acks::default()));
    let enough = Arc::new(tokio::sync::Notify::new());
    let mut set = tokio::task::JoinSet::new();
    for w in 0..6u32 {
        let (store, acks, enough) = (store.clone(), Arc::clone(&acks), Arc::clone(&enough));
        set.spawn(async move {
            for i in 0u32.. {
                let run = match store.submit_run(one_task(&format!("w{w}-{i}")), T0).await {
                    Ok(s) => s.run_id,
                    Err(e) => return e,
                };
                acks.lock().unwrap().runs.push(run.clone());
                if let Err(e) = store
                    .journal_put(&run, "s", i, json!({"w": w, "i": i}), T0)
                    .await
                {
                    return e;
                }
                acks.lock().unwrap().journaled.push((run.clone(), i));
                let lease = match store
                    .lease(&format!("w{w}"), None, 60_000, WorkerSite::InProcess, T0)
                    .await
                {
                    Ok(Some(l)) => l,
                    Ok(None) => continue,
                    Err(e) => return e,
                };
                if let Err(e) = store
                    .complete(lease.task, lease.token, json!(i), vec![], None, T0 + 1)
                    .await
                {
                    return e;
                }
                let mut acks = acks.lock().unwrap();
                acks.completed.push((lease.run.clone(), lease.task));
                if acks.completed.len() == 60 {
                    enough.notify_one();
                }
            }
            unreachable!("the loop ends with an error")
        });
    }
    // Crash once the writers have had sixty completions acknowledged.
    enough.notified().await;
    server.crash_and_restart().unwrap();
    while let Some(ended) = set.join_next().await {
        let e = ended.unwrap();
        assert!(
            matches!(e, StoreError::Unavailable(_)),
            "a writer ended with {e:?}"
        );
    }
    drop(store);

    let store = PgStore::connect(config).await.unwrap();
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    assert!(acks.completed.len() >= 60);
    for run in &acks.runs {
        assert!(
            store.run_get(run).await.unwrap().is_some(),
            "run {run} lost"
        );
        let report = store.verify(run).await.unwrap();
        assert!(report.is_ok(), "{report:?}");
    }
    for (run, i) in &acks.journaled {
        assert_eq!(
            store
                .journal_get(run, "s", *i)
                .await
                .unwrap()
                .map(|v| v["i"].clone()),
            Some(json!(i)),
            "journal of {run} lost"
        );
    }
    for (run, task) in &acks.completed {
        let t = store.task_get(*task).await.unwrap().unwrap();
        assert_eq!(
            t.state,
            weft_store_api::TaskState::Done,
            "completion of {run} lost"
        );
    }
    // The store goes on where it stopped.
    let before = store.counters().await.unwrap().tasks_created;
    store.submit_run(one_task("after"), T0 + 2).await.unwrap();
    assert_eq!(store.counters().await.unwrap().tasks_created, before + 1);
}
