//! Idempotency keys with a TTL, run ids, and ledger tamper detection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{T0, run, task};
use redb::{Database, ReadableTable};
use serde_json::json;
use weft_store::tables::LEDGER;
use weft_store::{LedgerEvent, Store};

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
        store.queue_stats(T0).unwrap().ready_by_pool["p"],
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
        matches!(err, weft_store::StoreError::IdempotencyConflict { .. }),
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
    assert_eq!(store.queue_stats(T0).unwrap().ready_by_pool["p"], 1);
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
    let store = Store::open(&path).unwrap();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let l = store
        .lease("w", None, 1_000, T0 + 1)
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
    let report = store.verify(&sub.run_id).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.events, 4);
    store.close().await;

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

    let store = Store::open(&path).unwrap();
    let report = store.verify(&sub.run_id).unwrap();
    let bad = report.first_bad.expect("tampering is detected");
    assert_eq!(bad.seq, 3);
    assert_eq!(report.events, 2);
}

#[tokio::test]
async fn truncation_is_caught_by_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let store = Store::open(&path).unwrap();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    store
        .artifact_put(&sub.run_id, "k", json!(1), T0 + 1)
        .await
        .unwrap();
    store.close().await;
    {
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(LEDGER)
            .unwrap()
            .remove((sub.run_id.as_str(), 2))
            .unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.verify(&sub.run_id).unwrap().first_bad.unwrap().seq, 2);
}
