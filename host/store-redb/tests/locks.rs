//! The operators' locks: takeover after expiry, renewal keeps the token,
//! wrong-token and expired releases refused without writing, tokens monotonic
//! across keys and reopens, expired locks reaped, concurrent acquires.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::T0;
use redb::{Database, ReadableDatabase, ReadableTableMetadata};
use weft_store_api::prelude::*;
use weft_store_api::{LockAcquire, LockRecord, StoreError};
use weft_store_redb::RedbStore;
use weft_store_redb::tables::{LOCK_EXPIRY, LOCKS};

/// The lock of an `Acquired` answer, and whether it was a renewal.
fn acquired(answer: LockAcquire) -> (LockRecord, bool) {
    match answer {
        LockAcquire::Acquired { lock, renewed } => (lock, renewed),
        LockAcquire::Held { owner, expires_ms } => {
            panic!("expected to acquire, but {owner} holds it until {expires_ms}")
        }
    }
}

#[tokio::test]
async fn a_lock_is_held_until_it_expires_then_taken_over_with_a_greater_token() {
    let (_dir, store) = common::temp_store();
    let (ada, renewed) = acquired(
        store
            .lock_acquire("deploy/prod", "ada", 1_000, T0)
            .await
            .unwrap(),
    );
    assert!(!renewed);
    assert_eq!(ada.key, "deploy/prod");
    assert_eq!(ada.owner, "ada");
    assert_eq!((ada.acquired_ms, ada.expires_ms), (T0, T0 + 1_000));

    // Someone else is told who holds it and until when.
    let held = store
        .lock_acquire("deploy/prod", "bob", 5_000, T0 + 999)
        .await
        .unwrap();
    assert_eq!(
        held,
        LockAcquire::Held {
            owner: "ada".into(),
            expires_ms: T0 + 1_000
        }
    );

    // The holder renews: same token, later expiry, first acquisition time kept.
    let (renewal, renewed) = acquired(
        store
            .lock_acquire("deploy/prod", "ada", 2_000, T0 + 500)
            .await
            .unwrap(),
    );
    assert!(renewed);
    assert_eq!(renewal.token, ada.token);
    assert_eq!((renewal.acquired_ms, renewal.expires_ms), (T0, T0 + 2_500));
    assert!(matches!(
        store.lock_acquire("deploy/prod", "bob", 5_000, T0 + 2_499).await.unwrap(),
        LockAcquire::Held { expires_ms, .. } if expires_ms == T0 + 2_500
    ));

    // At its expiry the lock is free: bob takes it over with a greater token.
    let (bob, renewed) = acquired(
        store
            .lock_acquire("deploy/prod", "bob", 5_000, T0 + 2_500)
            .await
            .unwrap(),
    );
    assert!(!renewed);
    assert!(bob.token > ada.token, "{} after {}", bob.token, ada.token);
    assert_eq!(bob.acquired_ms, T0 + 2_500);

    // Ada's old token no longer releases it; bob's does, once.
    let err = store
        .lock_release("deploy/prod", ada.token, T0 + 2_600)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::LockTokenMismatch { key, presented, owner }
            if key == "deploy/prod" && *presented == ada.token && owner == "bob"),
        "{err:?}"
    );
    assert!(err.to_string().contains("held by bob"), "{err}");
    let released = store
        .lock_release("deploy/prod", bob.token, T0 + 2_600)
        .await
        .unwrap();
    assert_eq!(released, bob);
    let err = store
        .lock_release("deploy/prod", bob.token, T0 + 2_700)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LockNotHeld { .. }), "{err:?}");
    assert!(store.locks_list(T0 + 2_700).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_lock_cannot_be_released_and_is_not_listed() {
    let (_dir, store) = common::temp_store();
    let (a, _) = acquired(store.lock_acquire("a", "ada", 100, T0).await.unwrap());
    let (b, _) = acquired(store.lock_acquire("b", "bob", 10_000, T0).await.unwrap());
    assert_eq!(
        store.locks_list(T0 + 99).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(store.lock_get("a", T0 + 99).await.unwrap(), Some(a.clone()));

    // At T0 + 100 `a` has run out: listed no more, and its token releases nothing.
    assert_eq!(store.locks_list(T0 + 100).await.unwrap(), vec![b.clone()]);
    assert_eq!(store.lock_get("a", T0 + 100).await.unwrap(), None);
    let err = store
        .lock_release("a", a.token, T0 + 100)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::LockNotHeld { ref key } if key == "a"),
        "{err:?}"
    );
    assert!(err.to_string().contains("expired"), "{err}");
    let err = store.lock_release("never", 1, T0).await.unwrap_err();
    assert!(matches!(err, StoreError::LockNotHeld { .. }), "{err:?}");
}

#[tokio::test]
async fn tokens_grow_across_keys_and_reopens_and_expired_locks_are_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let mut tokens = Vec::new();
    {
        let store = RedbStore::open(&path).unwrap();
        for key in ["a", "b", "c"] {
            let (lock, _) = acquired(store.lock_acquire(key, "ada", 1_000, T0).await.unwrap());
            tokens.push(lock.token);
        }
        store.close().await;
        drop(store);
    }
    let store = RedbStore::open(&path).unwrap();
    // Still held after the reopen.
    assert_eq!(store.locks_list(T0 + 1).await.unwrap().len(), 3);
    // Long after they ran out, a new acquire (of another key) reaps all three.
    let (d, _) = acquired(
        store
            .lock_acquire("d", "bob", 1_000, T0 + 60_000)
            .await
            .unwrap(),
    );
    let (a, _) = acquired(
        store
            .lock_acquire("a", "bob", 1_000, T0 + 60_000)
            .await
            .unwrap(),
    );
    tokens.extend([d.token, a.token]);
    let mut sorted = tokens.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, tokens, "every token is new and greater: {tokens:?}");
    store.close().await;
    drop(store);

    let db = Database::open(&path).unwrap();
    let rt = db.begin_read().unwrap();
    assert_eq!(
        rt.open_table(LOCKS).unwrap().len().unwrap(),
        2,
        "b and c reaped"
    );
    assert_eq!(rt.open_table(LOCK_EXPIRY).unwrap().len().unwrap(), 2);
}

#[tokio::test]
async fn of_concurrent_acquires_exactly_one_wins() {
    let (_dir, store) = common::temp_store();
    let attempts = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.lock_acquire("job", &format!("w{i}"), 1_000, T0).await })
    });
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            LockAcquire::Acquired { lock, .. } => winners.push(lock.owner),
            LockAcquire::Held { owner, .. } => holders.push(owner),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(holders.len(), 31);
    assert!(holders.iter().all(|h| *h == winners[0]), "{holders:?}");
}

#[tokio::test]
async fn bad_keys_owners_and_ttls_are_refused_saying_what_is_expected() {
    let (_dir, store) = common::temp_store();
    let too_long = "k".repeat(129);
    for key in ["", "has space", "semi;colon", too_long.as_str()] {
        let err = store.lock_acquire(key, "ada", 1_000, T0).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{key:?}: {err:?}");
        assert!(err.to_string().contains("letters, digits"), "{err}");
        let err = store.lock_release(key, 1, T0).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{key:?}: {err:?}");
    }
    let err = store.lock_acquire("k", " ", 1_000, T0).await.unwrap_err();
    assert!(err.to_string().contains("lock owner"), "{err}");
    let err = store.lock_acquire("k", "ada", 0, T0).await.unwrap_err();
    assert!(err.to_string().contains("at least 1 ms"), "{err}");
    assert!(
        store.locks_list(T0).await.unwrap().is_empty(),
        "nothing was taken"
    );
    // The longest key and the allowed punctuation are fine.
    let longest = format!("a.b_c-d:e/{}", "k".repeat(118));
    acquired(
        store
            .lock_acquire(&longest, "ada", 1_000, T0)
            .await
            .unwrap(),
    );
}
