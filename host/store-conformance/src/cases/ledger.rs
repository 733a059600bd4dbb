//! The ledger's bytes across backends, the change feed, the commit watch and
//! the read-only views of the queue.

use std::time::Duration;

use serde_json::json;
use weft_store_api::{
    Advance, FailDecision, LedgerEvent, NextCandidate, Override, SharedStore, Swap, ViewLimits,
    WorkerSite, canonical_event_bytes, chain_hash,
};

use crate::support::{T0, lease, run, task};
use crate::{Backend, RedbBackend};

/// The same scripted operations on a fresh store; returns the run id.
async fn script(store: &SharedStore) -> String {
    let s = store
        .submit_run(run(vec![task("a", "p", 2), task("b", "p", 1)]), T0)
        .await
        .unwrap();
    let a = lease(store, "w1", 1_000, T0 + 1).await;
    store
        .journal_put(&s.run_id, "a", 0, json!({"text": "hi", "n": 1.5}), T0 + 2)
        .await
        .unwrap();
    store
        .artifact_put(&s.run_id, "k", json!(["x", {"z": 1, "a": null}]), T0 + 3)
        .await
        .unwrap();
    let advance = Advance {
        candidates: vec![NextCandidate {
            task: task("c", "p", 0),
            needs: vec!["a".into(), "b".into()],
        }],
        all_steps: vec!["a".into(), "b".into(), "c".into()],
        final_steps: vec!["c".into()],
    };
    store
        .complete_step(a.task, a.token, json!({"é": "ü"}), advance.clone(), T0 + 4)
        .await
        .unwrap();
    let b = lease(store, "w2", 1_000, T0 + 5).await;
    store
        .fail(
            b.task,
            b.token,
            "flaky",
            FailDecision::Retry { at_ms: T0 + 10 },
            None,
            T0 + 6,
        )
        .await
        .unwrap();
    let b = lease(store, "w2", 1_000, T0 + 10).await;
    store
        .complete_step(b.task, b.token, json!(2), advance.clone(), T0 + 11)
        .await
        .unwrap();
    let c = lease(store, "w1", 50, T0 + 12).await;
    store.expire_leases(T0 + 62).await.unwrap();
    let c2 = lease(store, "w1", 1_000, T0 + 63).await;
    assert!(
        store
            .complete(c.task, c.token, json!(0), vec![], None, T0 + 64)
            .await
            .is_err()
    );
    store
        .complete_step(c2.task, c2.token, json!({"done": [1, 2]}), advance, T0 + 65)
        .await
        .unwrap();
    let swap = Swap {
        key: "pool:p".into(),
        stream: "@pool:p".into(),
        old_sha256: "0".repeat(64),
        new: Override {
            sha256: "f".repeat(64),
            config: Some(json!({"weights": {"b": 2, "a": 1}})),
            swapped_ms: T0 + 70,
            name: Some("fair".into()),
        },
    };
    store.record_swap(swap, T0 + 70).await.unwrap();
    s.run_id
}

/// `events` re-chained as if they were `run`'s: the canonical bytes and
/// chain of the contract.
fn rechain(run: &str, events: &[LedgerEvent]) -> Vec<String> {
    let mut prev = [0u8; 32];
    events
        .iter()
        .map(|e| {
            let bytes = canonical_event_bytes(run, e.seq, e.time_ms, &e.kind, &e.payload);
            prev = chain_hash(&prev, &bytes);
            hex::encode(prev)
        })
        .collect()
}

/// The same operations give the same ledger on this backend as on redb: the
/// same events, and under the same run id the same hashes (run ids end in
/// random letters, so the runs' own heads differ by that alone); an `@`
/// stream, named by the caller, has the very same head.
pub async fn ledger_bytes_match_redb(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let redb = RedbBackend::new();
    let (reference, _) = redb.fresh().await;
    let ours = script(&store).await;
    let theirs = script(&reference).await;
    let ours_events = store.ledger(&ours).await.unwrap();
    let their_events = reference.ledger(&theirs).await.unwrap();
    assert_eq!(ours_events.len(), their_events.len());
    assert!(ours_events.len() > 15, "{}", ours_events.len());
    for (o, t) in ours_events.iter().zip(&their_events) {
        assert_eq!(
            (o.seq, o.time_ms, &o.kind, &o.payload),
            (t.seq, t.time_ms, &t.kind, &t.payload)
        );
    }
    let their_hashes: Vec<String> = their_events.iter().map(|e| e.hash.clone()).collect();
    assert_eq!(rechain(&theirs, &ours_events), their_hashes);
    let our_hashes: Vec<String> = ours_events.iter().map(|e| e.hash.clone()).collect();
    assert_eq!(rechain(&ours, &ours_events), our_hashes);
    assert!(store.verify(&ours).await.unwrap().is_ok());
    assert!(reference.verify(&theirs).await.unwrap().is_ok());
    let stream = store.ledger("@pool:p").await.unwrap();
    let their_stream = reference.ledger("@pool:p").await.unwrap();
    assert_eq!(stream, their_stream);
    assert_eq!(store.verify("@pool:p").await.unwrap().events, 1);
    assert_eq!(
        store.overrides().await.unwrap(),
        reference.overrides().await.unwrap()
    );
}

/// Every ledger append of a run is one change, gap-free and in order, also
/// when many commit at once; `@` streams are not runs.
pub async fn every_ledger_append_is_one_change_in_order(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    assert_eq!(store.change_head().await.unwrap(), 0);
    let r1 = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap()
        .run_id;
    let r2 = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap()
        .run_id;
    store.journal_put(&r1, "a", 0, json!(1), T0).await.unwrap();
    store.artifact_put(&r2, "k", json!(1), T0).await.unwrap();
    let changes = store.changes_since(0, 100).await.unwrap();
    let seen: Vec<(u64, &str)> = changes.iter().map(|c| (c.seq, c.run_id.as_str())).collect();
    assert_eq!(
        seen,
        [
            (1, r1.as_str()),
            (2, r2.as_str()),
            (3, r1.as_str()),
            (4, r2.as_str())
        ]
    );
    let page = store.changes_since(2, 1).await.unwrap();
    assert_eq!((page.len(), page[0].seq), (1, 3));

    let mut set = tokio::task::JoinSet::new();
    for i in 0..24 {
        let store = store.clone();
        let run = if i % 2 == 0 { r1.clone() } else { r2.clone() };
        set.spawn(async move {
            store
                .artifact_put(&run, &format!("k{i}"), json!(i), T0)
                .await
                .unwrap()
        });
    }
    while set.join_next().await.is_some() {}
    let head = store.change_head().await.unwrap();
    assert_eq!(head, 28);
    let all = store.changes_since(0, 1_000).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=28).collect::<Vec<_>>());
    for run in [&r1, &r2] {
        let events = store.ledger(run).await.unwrap().len();
        assert_eq!(all.iter().filter(|c| &c.run_id == run).count(), events);
    }
}

/// `commits()` moves after a write, and on another handle (another
/// process's) of a backend that has one.
pub async fn commits_move_on_every_write(b: &dyn Backend) {
    let (store, id) = b.fresh().await;
    let mut rx = store.commits();
    rx.borrow_and_update();
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    assert!(
        rx.has_changed().unwrap(),
        "a commit moves the watch before it is answered"
    );
    let Some(other) = b.second_handle(&id).await else {
        return;
    };
    let mut far = other.commits();
    far.borrow_and_update();
    lease(&store, "w", 1_000, T0).await;
    tokio::time::timeout(Duration::from_secs(10), far.changed())
        .await
        .expect("another handle hears of the commit")
        .unwrap();
    assert!(other.queue_stats(T0).await.unwrap().inflight == 1);
}

/// `queue_next` names what the next lease takes (ready, due retries, run-out
/// leases; by pool and project) and writes nothing; `pool_view` shows the
/// running and the queued; `ready_pools` and `busy_pools` the pools with work.
pub async fn queue_views_name_what_the_next_lease_takes(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    assert_eq!(store.queue_next(None, None, T0).await.unwrap(), None);
    store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let mut other = run(vec![task("b", "q", 3)]);
    other.id_prefix = "zeta".into();
    other.tenant = "zeta".into();
    store.submit_run(other, T0 + 1).await.unwrap();
    let next = store.queue_next(None, None, T0 + 5).await.unwrap().unwrap();
    assert_eq!(
        (
            next.step.as_str(),
            next.pool.as_str(),
            next.lag_ms,
            next.flow.as_str()
        ),
        ("b", "q", 4, "demo")
    );
    let in_p = store
        .queue_next(Some("p"), None, T0 + 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(in_p.step, "a");
    let acme = store
        .queue_next(None, Some("acme"), T0 + 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme.step, "a");
    assert_eq!(
        store
            .queue_next(None, Some("nobody"), T0 + 5)
            .await
            .unwrap(),
        None
    );
    let leased = lease(&store, "w", 100, T0 + 5).await;
    assert_eq!(leased.task, next.task);
    assert_eq!(store.ready_pools().await.unwrap(), ["p"]);
    assert_eq!(store.busy_pools(T0 + 6).await.unwrap(), ["p", "q"]);
    assert_eq!(store.busy_pools(T0 + 105).await.unwrap(), ["p"]);
    let expired = store
        .queue_next(Some("q"), None, T0 + 105)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (expired.task, expired.ready_since_ms),
        (leased.task, T0 + 105)
    );
    assert_eq!(expired.state, weft_store_api::TaskState::Leased);

    for i in 0..5 {
        let mut r = run(vec![task(&format!("f{i}"), "p", 0)]);
        r.tenant = "flood".into();
        store.submit_run(r, T0 + 10).await.unwrap();
    }
    let limits = ViewLimits {
        candidates: 3,
        per_tenant: 2,
        scan: 100,
    };
    let view = store.pool_view("p", limits, T0 + 20).await.unwrap();
    assert_eq!(view.queued_total, 6);
    let tenants: Vec<&str> = view.queued.iter().map(|t| t.tenant.as_str()).collect();
    assert_eq!(tenants, ["acme", "flood", "flood"]);
    assert!(view.running.is_empty());
    let l = store
        .lease(
            "w",
            Some(&["p".to_owned()]),
            1_000,
            WorkerSite::Remote,
            T0 + 20,
        )
        .await
        .unwrap()
        .unwrap();
    let view = store.pool_view("p", limits, T0 + 21).await.unwrap();
    assert_eq!(
        view.running.iter().map(|t| t.task).collect::<Vec<_>>(),
        [l.task]
    );
    assert_eq!(view.running[0].since_ms, T0 + 20);
    assert_eq!(view.active_by_tenant()["acme"], 1);
}

/// A follower of the change feed reading while many commit at once never
/// sees a gap that a later commit fills: seqs are handed out in commit order.
pub async fn a_follower_never_sees_a_gap(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let run_id = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap()
        .run_id;
    let writers: u64 = 60;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..writers {
        let store = store.clone();
        let run_id = run_id.clone();
        set.spawn(async move {
            store
                .artifact_put(&run_id, &format!("k{i}"), json!(i), T0)
                .await
                .unwrap()
        });
    }
    let expected = writers + 1;
    let follower = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut rx = store.commits();
            let mut after = 0;
            let mut reads = 0u32;
            while after < expected {
                rx.borrow_and_update();
                for c in store.changes_since(after, 1_000).await.unwrap() {
                    assert_eq!(c.seq, after + 1, "a gap after seq {after}");
                    after = c.seq;
                }
                reads += 1;
                if after < expected {
                    // Wake on the next commit; look again now and then anyway.
                    let _ = tokio::time::timeout(Duration::from_millis(50), rx.changed()).await;
                }
            }
            reads
        })
    };
    while set.join_next().await.is_some() {}
    let reads = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .unwrap()
        .unwrap();
    assert!(reads >= 1);
    assert_eq!(store.change_head().await.unwrap(), expected);
}
