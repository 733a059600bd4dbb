//! The change feed: every ledger append of a run adds one `(seq, run id)` in
//! the same transaction, in order and without gaps; it pages with
//! `changes_since`, and survives a reopen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{T0, run, task, temp_store};
use serde_json::json;
use weft_store_api::RunOutcome;
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;
use weft_store_redb::RedbStore;

#[tokio::test]
async fn every_ledger_append_is_one_change_in_order_and_the_feed_survives_a_reopen() {
    let (dir, store) = temp_store();
    assert_eq!(store.change_head().await.unwrap(), 0);
    assert!(store.changes_since(0, 10).await.unwrap().is_empty());
    let a = store
        .submit_run(run(vec![task("s", "p", 0)]), T0)
        .await
        .unwrap()
        .run_id;
    let b = store
        .submit_run(run(vec![task("s", "q", 0)]), T0 + 1)
        .await
        .unwrap()
        .run_id;
    let pool = vec!["p".to_owned()];
    let lease = store
        .lease("w", Some(&pool), 60_000, WorkerSite::Remote, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    store
        .complete(
            lease.task,
            lease.token,
            json!({"ok": true}),
            vec![],
            Some(RunOutcome::Succeeded {
                output: json!({"ok": true}),
            }),
            T0 + 3,
        )
        .await
        .unwrap();

    let changes = store.changes_since(0, 100).await.unwrap();
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=changes.len() as u64).collect::<Vec<_>>());
    // One change per ledger event of each run, in the order they were written.
    let events_a = store.ledger(&a).await.unwrap().len();
    let events_b = store.ledger(&b).await.unwrap().len();
    assert_eq!(changes.len(), events_a + events_b);
    assert_eq!(changes.iter().filter(|c| c.run_id == a).count(), events_a);
    assert_eq!(changes[0].run_id, a);
    assert_eq!(changes[1].run_id, b);
    assert_eq!(changes.last().unwrap().run_id, a);
    let head = store.change_head().await.unwrap();
    assert_eq!(head, changes.len() as u64);

    // Paging.
    let page = store.changes_since(1, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, 2);
    assert!(store.changes_since(head, 10).await.unwrap().is_empty());
    assert_eq!(store.run_ids().await.unwrap(), vec![a.clone(), b.clone()]);

    store.close().await;

    drop(store);
    let store = RedbStore::open(dir.path().join("weft.redb")).unwrap();
    assert_eq!(store.change_head().await.unwrap(), head);
    assert_eq!(store.changes_since(0, 100).await.unwrap(), changes);
}
