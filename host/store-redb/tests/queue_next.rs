//! `queue_next`: the peek names exactly the task the next lease hands out
//! (priority, ready time, id, pools; due retries; expired leases) and changes
//! nothing. And `run_events`/`commits`: a consistent page of a run's ledger, and
//! a signal after each commit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::time::Duration;
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::{Advance, FailDecision, NextTask, TaskState};

#[tokio::test]
async fn the_peek_names_each_task_the_next_lease_takes_and_leases_nothing() {
    let (_dir, store) = common::temp_store();
    assert_eq!(store.queue_next(None, None, T0).await.unwrap(), None);
    store
        .submit_run(run(vec![task("low", "p", 0), task("high", "p", 10)]), T0)
        .await
        .unwrap();
    store
        .submit_run(
            run(vec![task("q-mid", "q", 5), task("p-high-later", "p", 10)]),
            T0 + 10,
        )
        .await
        .unwrap();

    let now = T0 + 1_000;
    let first = store.queue_next(None, None, now).await.unwrap().unwrap();
    assert_eq!(
        (first.step.as_str(), first.pool.as_str(), first.priority),
        ("high", "p", 10)
    );
    assert_eq!(first.flow, "demo");
    assert_eq!((first.attempt, first.state), (1, TaskState::Ready));
    assert_eq!((first.ready_since_ms, first.lag_ms), (T0, 1_000));
    // Peeking twice gives the same answer and leaves the queue as it was.
    let stats = store.queue_stats(now).await.unwrap();
    assert_eq!(
        store.queue_next(None, None, now).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.queue_stats(now).await.unwrap(), stats);
    assert_eq!(
        store.task_get(first.task).await.unwrap().unwrap().state,
        TaskState::Ready
    );

    // A pool filter peeks at that pool only.
    let q = store
        .queue_next(Some("q"), None, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(q.step, "q-mid");
    assert_eq!(
        store.queue_next(Some("none"), None, now).await.unwrap(),
        None
    );

    // Peek, lease, compare, until the queue is empty.
    let mut order = Vec::new();
    while let Some(next) = store.queue_next(None, None, now).await.unwrap() {
        let lease = store
            .lease("w", None, 60_000, WorkerSite::Remote, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((lease.task, &lease.run), (next.task, &next.run));
        order.push(next.step);
    }
    assert_eq!(order, ["high", "p-high-later", "q-mid", "low"]);
    assert_eq!(
        store
            .lease("w", None, 60_000, WorkerSite::Remote, now)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn due_retries_and_expired_leases_count_as_ready() {
    let (_dir, store) = common::temp_store();
    store
        .submit_run(run(vec![task("retry", "p", 0), task("expire", "p", 0)]), T0)
        .await
        .unwrap();
    let retry = store
        .lease("w", None, 60_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let expire = store
        .lease("w", None, 300, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    store
        .fail(
            retry.task,
            retry.token,
            "flaky",
            FailDecision::Retry { at_ms: T0 + 500 },
            None,
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(store.queue_next(None, None, T0 + 299).await.unwrap(), None);

    // At T0 + 300 the lease has run out: the next lease hands the task back
    // ("now") and takes it.
    let next = store
        .queue_next(None, None, T0 + 400)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((next.task, next.state), (expire.task, TaskState::Leased));
    assert_eq!(
        (next.ready_since_ms, next.lag_ms, next.attempt),
        (T0 + 400, 0, 1)
    );

    // At T0 + 700 the retry is due too, ready since T0 + 500: it comes first.
    let next: NextTask = store
        .queue_next(Some("p"), None, T0 + 700)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((next.task, next.state), (retry.task, TaskState::Delayed));
    assert_eq!(
        (next.ready_since_ms, next.lag_ms, next.attempt),
        (T0 + 500, 200, 2)
    );
    let lease = store
        .lease("w", None, 60_000, WorkerSite::Remote, T0 + 700)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((lease.task, lease.attempt), (retry.task, 2));
    // That lease handed the expired one back: now it is plainly ready.
    let next = store
        .queue_next(None, None, T0 + 800)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((next.task, next.state), (expire.task, TaskState::Ready));
    assert_eq!((next.ready_since_ms, next.lag_ms), (T0 + 700, 100));
    let lease = store
        .lease("w", None, 60_000, WorkerSite::Remote, T0 + 800)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.task, expire.task);
}

#[tokio::test]
async fn run_events_pages_the_ledger_and_commits_signal_each_write() {
    let (_dir, store) = common::temp_store();
    let mut commits = store.commits();
    let sub = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    // The submit's commit has been signalled.
    tokio::time::timeout(Duration::from_secs(5), commits.changed())
        .await
        .unwrap()
        .unwrap();

    let page = store.run_events(&sub.run_id, 0).await.unwrap().unwrap();
    assert_eq!(page.open_tasks, 1);
    assert!(page.is_moving());
    let kinds: Vec<&str> = page.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["run-created"]);
    assert_eq!(page.last_seq, 1);

    let lease = store
        .lease("w", None, 60_000, WorkerSite::Remote, T0)
        .await
        .unwrap()
        .unwrap();
    let advance = Advance {
        candidates: vec![],
        all_steps: vec!["a".into()],
        final_steps: vec!["a".into()],
    };
    store
        .complete_step(
            lease.task,
            lease.token,
            json!({"ok": true}),
            advance,
            T0 + 1,
        )
        .await
        .unwrap();
    let page = store.run_events(&sub.run_id, 1).await.unwrap().unwrap();
    let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [2, 3, 4], "only the events after seq 1");
    assert_eq!(page.last_seq, 4);
    assert_eq!(page.events.last().unwrap().kind, "run-succeeded");
    assert_eq!((page.open_tasks, page.is_moving()), (0, false));
    assert!(
        store
            .run_events(&sub.run_id, 4)
            .await
            .unwrap()
            .unwrap()
            .events
            .is_empty()
    );
    assert!(
        store
            .run_events(&sub.run_id, u64::MAX)
            .await
            .unwrap()
            .unwrap()
            .events
            .is_empty()
    );
    assert_eq!(
        store
            .run_events("acme-2020-01-01-001-abc", 0)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_project_filter_peeks_among_the_runs_of_that_prefix_only() {
    let (_dir, store) = common::temp_store();
    let of = |prefix: &str, step: &str, pool: &str, priority: u32| {
        let mut r = run(vec![task(step, pool, priority)]);
        r.id_prefix = prefix.into();
        r
    };
    // `team` is a prefix of `team-7`'s ids as text, not as a project.
    let team = store.submit_run(of("team", "t", "p", 1), T0).await.unwrap();
    let team7 = store
        .submit_run(of("team-7", "t7", "p", 9), T0 + 1)
        .await
        .unwrap();
    let billing = store
        .submit_run(of("billing", "b", "q", 5), T0 + 2)
        .await
        .unwrap();
    let billing_high = store
        .submit_run(of("billing", "bh", "p", 7), T0 + 3)
        .await
        .unwrap();
    let now = T0 + 1_000;

    let next = async |pool: Option<&str>, project: Option<&str>| {
        store
            .queue_next(pool, project, now)
            .await
            .unwrap()
            .map(|n| n.run)
    };
    assert_eq!(next(None, None).await, Some(team7.run_id.clone()));
    assert_eq!(next(None, Some("team")).await, Some(team.run_id.clone()));
    assert_eq!(next(None, Some("team-7")).await, Some(team7.run_id.clone()));
    assert_eq!(
        next(None, Some("billing")).await,
        Some(billing_high.run_id.clone())
    );
    assert_eq!(
        next(Some("q"), Some("billing")).await,
        Some(billing.run_id.clone())
    );
    assert_eq!(next(Some("q"), Some("team")).await, None);
    assert_eq!(next(None, Some("nobody")).await, None);
    // Without a project it is `queue_next`.
    assert_eq!(
        store.queue_next(Some("p"), None, now).await.unwrap(),
        store.queue_next(Some("p"), None, now).await.unwrap()
    );

    // A due retry of the project counts, like for a lease.
    let lease = store
        .lease(
            "w",
            Some(&["p".to_owned()]),
            30_000,
            WorkerSite::Remote,
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.run, team7.run_id);
    store
        .fail(
            lease.task,
            lease.token,
            "boom",
            FailDecision::Retry { at_ms: now + 10 },
            None,
            now,
        )
        .await
        .unwrap();
    let due = store
        .queue_next(None, Some("team-7"), now + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (due.run, due.state),
        (team7.run_id.clone(), TaskState::Delayed)
    );
}
