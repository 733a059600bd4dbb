//! Idempotency keys with a TTL, run ids, and ledger tamper detection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{T0, run, task};
use redb::{Database, ReadableTable, ReadableTableMetadata};
use serde_json::json;
use weft_store_api::LedgerEvent;
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;
use weft_store_redb::RedbStore;
use weft_store_redb::tables::LEDGER;

#[tokio::test]
async fn same_key_returns_the_same_run_until_the_ttl_runs_out() {
    let (_dir, store) = common::temp_store();
    let mut r = run(vec![task("a", "p", 0)]);
    r.idempotency_key = Some(("cron:demo:2026-11-22T00:00".into(), 60_000));
    let first = store.submit_run(r.clone(), T0).await.unwrap();
    assert!(first.created);
    let again = store.submit_run(r.clone(), T0 + 59_999).await.unwrap();
    assert_eq!(again.run_id, first.run_id);
    assert!(!again.created);
    assert_eq!(
        store.queue_stats(T0).await.unwrap().ready_by_pool["p"],
        1,
        "no second task"
    );
    let later = store.submit_run(r, T0 + 60_000).await.unwrap();
    assert!(later.created);
    assert_ne!(later.run_id, first.run_id);
}

#[tokio::test]
async fn same_key_with_another_input_or_flow_is_refused() {
    let (_dir, store) = common::temp_store();
    let mut r = run(vec![task("a", "p", 0)]);
    r.idempotency_key = Some(("order-7".into(), 60_000));
    let first = store.submit_run(r.clone(), T0).await.unwrap();
    let mut other_input = r.clone();
    other_input.input = json!({"something": "else"});
    let err = store.submit_run(other_input, T0 + 1).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, weft_store_api::StoreError::IdempotencyConflict { .. }),
        "{text}"
    );
    assert!(
        text.contains("order-7") && text.contains(&first.run_id),
        "{text}"
    );
    let mut other_flow = r.clone();
    other_flow.flow_id = "another-flow".into();
    assert!(store.submit_run(other_flow, T0 + 2).await.is_err());
    // Nothing was created by the refusals.
    assert_eq!(store.queue_stats(T0).await.unwrap().ready_by_pool["p"], 1);
}

#[tokio::test]
async fn run_ids_count_per_prefix_per_utc_day() {
    let (_dir, store) = common::temp_store();
    let a1 = store.submit_run(run(vec![]), T0 + 5).await.unwrap().run_id;
    let a2 = store.submit_run(run(vec![]), T0 + 6).await.unwrap().run_id;
    let mut other = run(vec![]);
    other.id_prefix = "beta".into();
    let b1 = store.submit_run(other, T0 + 7).await.unwrap().run_id;
    let next_day = store
        .submit_run(run(vec![]), T0 + 86_400_000)
        .await
        .unwrap()
        .run_id;
    assert!(a1.starts_with("acme-2026-11-22-001-"), "{a1}");
    assert!(a2.starts_with("acme-2026-11-22-002-"), "{a2}");
    assert!(b1.starts_with("beta-2026-11-22-001-"), "{b1}");
    assert!(next_day.starts_with("acme-2026-11-23-001-"), "{next_day}");
    let suffix = &a1[a1.len() - 3..];
    assert!(
        suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
    // Newest first.
    let listed: Vec<_> = store
        .runs_list(10, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, [next_day, b1, a2, a1]);
}

#[tokio::test]
async fn a_tampered_event_is_named_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let store = RedbStore::open(&path).unwrap();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let l = store
        .lease("w", None, 1_000, WorkerSite::Remote, T0 + 1)
        .await
        .unwrap()
        .unwrap();
    store
        .complete(l.task, l.token, json!({"answer": 1}), vec![], None, T0 + 2)
        .await
        .unwrap();
    store
        .artifact_put(&sub.run_id, "k", json!([1]), T0 + 3)
        .await
        .unwrap();
    let report = store.verify(&sub.run_id).await.unwrap();
    assert!(report.is_ok());
    assert_eq!(report.events, 4);
    store.close().await;
    drop(store);

    // Rewrite event 3 (step-succeeded) behind the store's back.
    {
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(LEDGER).unwrap();
            let bytes = table
                .get((sub.run_id.as_str(), 3))
                .unwrap()
                .unwrap()
                .value()
                .to_vec();
            let mut event: LedgerEvent = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(event.kind, "step-succeeded");
            event.payload["output"] = json!({"answer": 2});
            let forged = serde_json::to_vec(&event).unwrap();
            table
                .insert((sub.run_id.as_str(), 3), forged.as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }

    let store = RedbStore::open(&path).unwrap();
    let report = store.verify(&sub.run_id).await.unwrap();
    let bad = report.first_bad.expect("tampering is detected");
    assert_eq!(bad.seq, 3);
    assert_eq!(report.events, 2);
}

#[tokio::test]
async fn truncation_is_caught_by_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let store = RedbStore::open(&path).unwrap();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    store
        .artifact_put(&sub.run_id, "k", json!(1), T0 + 1)
        .await
        .unwrap();
    store.close().await;
    drop(store);
    {
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(LEDGER)
            .unwrap()
            .remove((sub.run_id.as_str(), 2))
            .unwrap();
        tx.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        store
            .verify(&sub.run_id)
            .await
            .unwrap()
            .first_bad
            .unwrap()
            .seq,
        2
    );
}

#[tokio::test]
async fn expired_keys_are_purged_and_live_ones_still_dedup() {
    let (dir, store) = common::temp_store();
    let keyed = |key: &str, ttl: u64| {
        let mut r = run(vec![task("a", "p", 0)]);
        r.idempotency_key = Some((key.into(), ttl));
        r
    };
    let short = store.submit_run(keyed("short", 1_000), T0).await.unwrap();
    let long = store.submit_run(keyed("long", 60_000), T0).await.unwrap();
    assert_eq!(store.idempotency_count().await.unwrap(), 2);

    // Nothing has run out yet: nothing is purged.
    assert_eq!(store.purge_idempotency(T0 + 999, 100).await.unwrap(), 0);
    // `short` runs out at T0 + 1000 (a key names its run until `expires_at`).
    assert_eq!(store.purge_idempotency(T0 + 1_000, 100).await.unwrap(), 1);
    assert_eq!(store.idempotency_get("short").await.unwrap(), None);
    assert_eq!(
        store.idempotency_get("long").await.unwrap(),
        Some((long.run_id.clone(), T0 + 60_000))
    );
    assert_eq!(store.idempotency_count().await.unwrap(), 1);

    // The purged key makes a new run; the live one still names its run.
    let again = store
        .submit_run(keyed("short", 1_000), T0 + 2_000)
        .await
        .unwrap();
    assert!(again.created);
    assert_ne!(again.run_id, short.run_id);
    let dedup = store
        .submit_run(keyed("long", 60_000), T0 + 2_000)
        .await
        .unwrap();
    assert!(!dedup.created);
    assert_eq!(dedup.run_id, long.run_id);

    // A key taken over after its expiry (never purged) keeps only its new
    // expiry: a purge at the old one leaves it, a purge at the new one takes it.
    store.submit_run(keyed("taken", 1_000), T0).await.unwrap();
    let over = store
        .submit_run(keyed("taken", 10_000), T0 + 5_000)
        .await
        .unwrap();
    assert!(over.created);
    // At T0 + 5 s only `short`'s second key (T0 + 3 s) has run out: the old
    // expiry of `taken` went with the takeover.
    assert_eq!(store.purge_idempotency(T0 + 5_000, 100).await.unwrap(), 1);
    assert_eq!(
        store.idempotency_get("taken").await.unwrap(),
        Some((over.run_id.clone(), T0 + 15_000))
    );

    // A batch limit purges the oldest first; the rest goes in the next call.
    for i in 0..5 {
        store
            .submit_run(keyed(&format!("batch-{i}"), 100 + i), T0 + 20_000)
            .await
            .unwrap();
    }
    // `taken` (T0 + 15 s), then `batch-0` and `batch-1`.
    assert_eq!(store.purge_idempotency(T0 + 30_000, 3).await.unwrap(), 3);
    assert_eq!(store.idempotency_get("taken").await.unwrap(), None);
    assert_eq!(store.idempotency_get("batch-1").await.unwrap(), None);
    assert!(store.idempotency_get("batch-2").await.unwrap().is_some());
    assert_eq!(store.purge_idempotency(T0 + 30_000, 100).await.unwrap(), 3);
    assert_eq!(
        store.idempotency_count().await.unwrap(),
        1,
        "`long` is left"
    );

    // The expiry index survives a reopen.
    store.close().await;
    drop(store);
    let store = RedbStore::open(dir.path().join("weft.redb")).unwrap();
    assert_eq!(store.purge_idempotency(T0 + 60_000, 100).await.unwrap(), 1);
    assert_eq!(store.idempotency_count().await.unwrap(), 0);
}

/// A store written before the `idempotency_expiry` table existed: its keys get
/// their expiry entries when it is opened, so they are purged too.
#[tokio::test]
async fn keys_of_an_older_store_are_indexed_at_open_and_purged() {
    use weft_store_redb::tables::{COUNTERS, IDEMPOTENCY, IDEMPOTENCY_EXPIRY};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        let mut r = run(vec![task("a", "p", 0)]);
        r.idempotency_key = Some(("old".into(), 1_000));
        store.submit_run(r, T0).await.unwrap();
        store.close().await;
        drop(store);
    }
    {
        // Back to the old layout: no expiry entries, never indexed.
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(IDEMPOTENCY_EXPIRY).unwrap();
        tx.open_table(COUNTERS)
            .unwrap()
            .remove("idempotency_indexed")
            .unwrap();
        assert_eq!(tx.open_table(IDEMPOTENCY).unwrap().len().unwrap(), 1);
        tx.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.purge_idempotency(T0 + 1_000, 100).await.unwrap(), 1);
    assert_eq!(store.idempotency_count().await.unwrap(), 0);
}
