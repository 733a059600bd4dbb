//! Cron schedules in the store: a fire's run and the schedule's new last fire
//! commit together; a fire at or before the last fire is not submitted again;
//! the idempotency key guards a fire on its own; a refused fire writes nothing;
//! pause, resume, trigger; the `schedule_fires` counter; state survives a reopen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::prelude::*;
use weft_store_api::{RunFilter, ScheduleId, ScheduleTick, ScheduledRun, StoreError};
use weft_store_redb::RedbStore;

const MIN: u64 = 60_000;
/// Far longer than any test's clock.
const TTL: u64 = 400 * 24 * 60 * MIN;

fn id() -> ScheduleId {
    ScheduleId::new("demo", "0|0 * * * * *|UTC")
}

fn fire(fire_ms: u64) -> ScheduledRun {
    let mut r = run(vec![task("a", "p", 0)]);
    r.idempotency_key = Some((format!("cron:demo:{fire_ms}"), TTL));
    ScheduledRun { fire_ms, run: r }
}

fn tick(fires: &[u64], handled_up_to: u64) -> ScheduleTick {
    ScheduleTick {
        id: id(),
        fires: fires.iter().map(|&f| fire(f)).collect(),
        handled_up_to,
    }
}

async fn runs(store: &RedbStore) -> usize {
    store
        .runs_list(10_000, &RunFilter::default())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_fire_and_the_new_last_fire_commit_together_and_never_twice() {
    let (_dir, store) = common::temp_store();
    let states = store.schedules_register(vec![id()], T0).await.unwrap();
    assert_eq!(states[0].last_fire_ms, T0);
    assert!(!states[0].paused);
    // Registering again keeps the state.
    let again = store
        .schedules_register(vec![id()], T0 + 5 * MIN)
        .await
        .unwrap();
    assert_eq!(again[0].last_fire_ms, T0);

    let done = store
        .schedule_fire(tick(&[T0 + MIN, T0 + 2 * MIN], T0 + 2 * MIN), T0 + 2 * MIN)
        .await
        .unwrap();
    assert_eq!(done.runs.len(), 2);
    assert!(done.runs.iter().all(|r| r.created));
    assert_eq!(done.state.last_fire_ms, T0 + 2 * MIN);
    assert_eq!(done.state.fires, 2);
    assert_eq!(
        done.state.last_run.as_deref(),
        Some(done.runs[1].run_id.as_str())
    );
    assert_eq!(runs(&store).await, 2);
    assert_eq!(store.counters().await.unwrap().schedule_fires, 2);

    // The same tick again (a retry, a second ticker): nothing new.
    let replay = store
        .schedule_fire(tick(&[T0 + MIN, T0 + 2 * MIN], T0 + 2 * MIN), T0 + 2 * MIN)
        .await
        .unwrap();
    assert!(replay.runs.is_empty());
    assert_eq!(replay.state.last_fire_ms, T0 + 2 * MIN);
    assert_eq!(runs(&store).await, 2);
    assert_eq!(store.counters().await.unwrap().schedule_fires, 2);

    // The run-created event says which schedule and fire made the run.
    let created = &store.ledger(&done.runs[0].run_id).await.unwrap()[0];
    assert_eq!(created.kind, "run-created");
    assert_eq!(created.payload["origin"]["schedule"]["flow"], "demo");
    assert_eq!(created.payload["origin"]["schedule"]["key"], id().key);
    assert_eq!(created.payload["origin"]["fire_ms"], T0 + MIN);
    assert_eq!(created.payload["origin"]["manual"], false);
    assert_eq!(
        created.payload["idempotency_key"],
        format!("cron:demo:{}", T0 + MIN)
    );
}

#[tokio::test]
async fn the_idempotency_key_alone_stops_a_double_fire() {
    let (_dir, store) = common::temp_store();
    let first = store
        .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + MIN)
        .await
        .unwrap();
    // Another schedule state (e.g. one that lost its state) fires the same key.
    let mut other = tick(&[T0 + MIN], T0 + MIN);
    other.id = ScheduleId::new("demo", "another key");
    let second = store.schedule_fire(other, T0 + 3 * MIN).await.unwrap();
    assert_eq!(second.runs.len(), 1);
    assert!(!second.runs[0].created);
    assert_eq!(second.runs[0].run_id, first.runs[0].run_id);
    assert_eq!(second.state.fires, 0);
    assert_eq!(runs(&store).await, 1);
    assert_eq!(store.counters().await.unwrap().schedule_fires, 1);
}

#[tokio::test]
async fn a_refused_fire_writes_nothing_of_its_tick() {
    let (_dir, store) = common::temp_store();
    store.schedules_register(vec![id()], T0).await.unwrap();
    store
        .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + MIN)
        .await
        .unwrap();
    // A state-less schedule ticks a fire whose key names a run with another
    // input, together with a good fire: the conflict refuses the whole tick.
    let mut bad = fire(T0 + MIN);
    bad.run.input = json!({"other": true});
    let refused = ScheduleTick {
        id: ScheduleId::new("demo", "fresh"),
        fires: vec![bad, fire(T0 + 2 * MIN)],
        handled_up_to: T0 + 2 * MIN,
    };
    let err = store
        .schedule_fire(refused, T0 + 2 * MIN)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err}"
    );
    assert_eq!(runs(&store).await, 1);
    assert_eq!(
        store
            .schedule_get(&ScheduleId::new("demo", "fresh"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.counters().await.unwrap().schedule_fires, 1);
}

#[tokio::test]
async fn a_dropped_fire_moves_the_last_fire_without_a_run() {
    let (_dir, store) = common::temp_store();
    store.schedules_register(vec![id()], T0).await.unwrap();
    let done = store
        .schedule_fire(tick(&[], T0 + 10 * MIN), T0 + 10 * MIN + 90_000)
        .await
        .unwrap();
    assert!(done.runs.is_empty());
    assert_eq!(done.state.last_fire_ms, T0 + 10 * MIN);
    assert_eq!(runs(&store).await, 0);
    // A fire older than the last fire is never submitted.
    let late = store
        .schedule_fire(tick(&[T0 + 5 * MIN], T0 + 5 * MIN), T0 + 11 * MIN)
        .await
        .unwrap();
    assert!(late.runs.is_empty());
    assert_eq!(late.state.last_fire_ms, T0 + 10 * MIN);
    assert_eq!(runs(&store).await, 0);
}

#[tokio::test]
async fn pause_resume_and_trigger() {
    let (_dir, store) = common::temp_store();
    store.schedules_register(vec![id()], T0).await.unwrap();
    let paused = store.schedule_pause(id(), T0 + 30_000).await.unwrap();
    assert!(paused.paused);
    assert_eq!(paused.last_fire_ms, T0);
    let nothing = store
        .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + MIN)
        .await
        .unwrap();
    assert!(nothing.runs.is_empty());
    assert_eq!(
        nothing.state.last_fire_ms, T0,
        "a paused schedule keeps its state"
    );

    // A trigger fires even while paused, and leaves the last fire alone.
    let mut manual = run(vec![task("a", "p", 0)]);
    manual.idempotency_key = Some(("cron:demo:manual:1".into(), TTL));
    let triggered = store
        .schedule_trigger(id(), manual.clone(), T0 + 2 * MIN)
        .await
        .unwrap();
    assert!(triggered.created);
    let again = store
        .schedule_trigger(id(), manual, T0 + 2 * MIN)
        .await
        .unwrap();
    assert_eq!(again.run_id, triggered.run_id);
    assert!(!again.created);
    let state = store.schedule_get(&id()).await.unwrap().unwrap();
    assert_eq!(state.last_fire_ms, T0);
    assert_eq!(state.fires, 1);
    assert_eq!(state.last_run.as_deref(), Some(triggered.run_id.as_str()));
    let created = &store.ledger(&triggered.run_id).await.unwrap()[0];
    assert_eq!(created.payload["origin"]["manual"], true);

    // Resume: what fell during the pause is behind the last fire now.
    let resumed = store.schedule_resume(id(), T0 + 5 * MIN + 1).await.unwrap();
    assert!(!resumed.paused);
    assert_eq!(resumed.last_fire_ms, T0 + 5 * MIN + 1);
    let after = store
        .schedule_fire(
            tick(&[T0 + 5 * MIN, T0 + 6 * MIN], T0 + 6 * MIN),
            T0 + 6 * MIN,
        )
        .await
        .unwrap();
    let fired: Vec<u64> = after.runs.iter().map(|r| r.fire_ms).collect();
    assert_eq!(fired, [T0 + 6 * MIN]);
    assert_eq!(store.counters().await.unwrap().schedule_fires, 2);
    assert_eq!(store.schedules_list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn schedule_state_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        store
            .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + MIN)
            .await
            .unwrap();
        store.schedule_pause(id(), T0 + MIN).await.unwrap();
        store.close().await;
        drop(store);
    }
    let store = RedbStore::open(&path).unwrap();
    let state = store.schedule_get(&id()).await.unwrap().unwrap();
    assert_eq!(state.last_fire_ms, T0 + MIN);
    assert!(state.paused);
    assert_eq!(state.fires, 1);
    assert_eq!(store.counters().await.unwrap().schedule_fires, 1);
    let bad = store
        .schedules_register(vec![ScheduleId::new("", "k")], T0)
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::Invalid(_)), "{bad}");
}

#[tokio::test]
async fn retain_removes_the_rows_of_schedules_no_longer_loaded() {
    let (dir, store) = common::temp_store();
    let gone = ScheduleId::new("removed-flow", "0|0 0 * * * *|UTC");
    let changed = ScheduleId::new("demo", "0|0 30 * * * *|UTC");
    store
        .schedules_register(vec![id(), gone.clone(), changed.clone()], T0)
        .await
        .unwrap();
    store
        .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + MIN)
        .await
        .unwrap();
    assert_eq!(store.schedules_list().await.unwrap().len(), 3);

    let removed = store.schedules_retain(vec![id()]).await.unwrap();
    assert_eq!(removed, vec![changed.clone(), gone.clone()]);
    let left = store.schedules_list().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, id());
    assert_eq!(left[0].fires, 1, "the kept schedule keeps its state");
    assert_eq!(store.schedule_get(&gone).await.unwrap(), None);
    assert_eq!(
        runs(&store).await,
        1,
        "the runs a removed schedule fired stay"
    );
    // Nothing more to remove; a reopen shows the same.
    assert!(store.schedules_retain(vec![id()]).await.unwrap().is_empty());
    store.close().await;
    drop(store);
    let store = RedbStore::open(dir.path().join("weft.redb")).unwrap();
    assert_eq!(store.schedules_list().await.unwrap().len(), 1);
}
