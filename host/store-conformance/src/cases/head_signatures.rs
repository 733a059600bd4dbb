//! Signed ledger heads: stored by (run, seq), read back in seq order, one
//! per seq, kept apart per run, kept across a reopen; and what is read back
//! still verifies against the run's ledger.

use weft_store_api::{HeadCheck, LedgerSigner, check_heads};

use crate::Backend;
use crate::support::{T0, lease, run, task};

/// The case: `put_head_signature` / `head_signatures`.
pub async fn signed_heads_are_kept_by_run_and_seq(b: &dyn Backend) {
    let (store, id) = b.fresh().await;
    let signer = LedgerSigner::from_seed([42; 32]);
    let one = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap()
        .run_id;
    let other = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap()
        .run_id;
    assert!(store.head_signatures(&one).await.unwrap().is_empty());
    let _ = lease(&store, "w", 1_000, T0 + 1).await;
    let events = store.ledger(&one).await.unwrap();
    assert!(events.len() >= 2, "{events:?}");
    // Out of order, and seq 1 twice: the second replaces the first.
    let sign = |seq: u64, at: u64| {
        let hash = &events[usize::try_from(seq - 1).unwrap()].hash;
        signer.sign(&one, seq, hash, at).unwrap()
    };
    store.put_head_signature(sign(2, T0 + 3)).await.unwrap();
    store.put_head_signature(sign(1, T0 + 2)).await.unwrap();
    store.put_head_signature(sign(1, T0 + 4)).await.unwrap();
    let got = store.head_signatures(&one).await.unwrap();
    assert_eq!(got, vec![sign(1, T0 + 4), sign(2, T0 + 3)]);
    assert!(store.head_signatures(&other).await.unwrap().is_empty());
    let checked = check_heads(&one, &events, false, &got, &signer.public());
    assert_eq!(checked, Ok(HeadCheck::Signed { seq: 2 }));

    store.close().await;
    drop(store);
    let store = b.reopen(&id).await;
    assert_eq!(store.head_signatures(&one).await.unwrap(), got);
}
