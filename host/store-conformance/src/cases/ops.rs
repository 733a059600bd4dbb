//! Cron schedules, operators' locks and charges.

use serde_json::json;
use weft_store_api::{
    Charge, LockAcquire, RunFilter, ScheduleId, ScheduleTick, ScheduledRun, SharedStore, StoreError,
};

use crate::Backend;
use crate::support::{T0, run, task};

const MIN: u64 = 60_000;
/// Far longer than any case's clock.
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

async fn runs(store: &SharedStore) -> usize {
    store
        .runs_list(10_000, &RunFilter::default())
        .await
        .unwrap()
        .len()
}

/// A fire's run and the new last fire commit together; a replayed tick, an
/// older fire and the idempotency key alone each keep a fire from doubling.
pub async fn a_cron_fire_fires_once(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let states = store.schedules_register(vec![id()], T0).await.unwrap();
    assert_eq!(states[0].last_fire_ms, T0);
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
    assert_eq!(
        (done.state.last_fire_ms, done.state.fires),
        (T0 + 2 * MIN, 2)
    );
    assert_eq!(
        done.state.last_run.as_deref(),
        Some(done.runs[1].run_id.as_str())
    );
    let replay = store
        .schedule_fire(tick(&[T0 + MIN, T0 + 2 * MIN], T0 + 2 * MIN), T0 + 3 * MIN)
        .await
        .unwrap();
    assert!(replay.runs.is_empty());
    assert_eq!(runs(&store).await, 2);
    assert_eq!(store.counters().await.unwrap().schedule_fires, 2);
    // A state lost (removed) would let the fire through; its key does not.
    store.schedules_retain(vec![]).await.unwrap();
    let refire = store
        .schedule_fire(tick(&[T0 + 2 * MIN], T0 + 2 * MIN), T0 + 4 * MIN)
        .await
        .unwrap();
    assert_eq!(refire.runs.len(), 1);
    assert!(!refire.runs[0].created);
    assert_eq!(refire.runs[0].run_id, done.runs[1].run_id);
    assert_eq!(runs(&store).await, 2);
    let created = store.ledger(&done.runs[0].run_id).await.unwrap().remove(0);
    assert_eq!(created.payload["origin"]["fire_ms"], json!(T0 + MIN));
    assert_eq!(created.payload["origin"]["manual"], json!(false));
    // A fire whose run is refused refuses the whole tick, writing nothing.
    let mut bad = tick(&[T0 + 5 * MIN, T0 + 6 * MIN], T0 + 6 * MIN);
    bad.fires[1].run.id_prefix = "Bad".into();
    assert!(store.schedule_fire(bad, T0 + 6 * MIN).await.is_err());
    assert_eq!(runs(&store).await, 2);
    let state = store.schedule_get(&id()).await.unwrap().unwrap();
    assert_eq!(state.last_fire_ms, T0 + 2 * MIN);
}

/// Eight tickers firing the same fire at once create one run.
pub async fn concurrent_ticks_of_one_fire_create_one_run(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    store.schedules_register(vec![id()], T0).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        set.spawn(async move {
            store
                .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + MIN)
                .await
                .unwrap()
        });
    }
    let mut created = 0;
    while let Some(done) = set.join_next().await {
        created += done.unwrap().runs.iter().filter(|r| r.created).count();
    }
    assert_eq!(created, 1);
    assert_eq!(runs(&store).await, 1);
    let state = store.schedule_get(&id()).await.unwrap().unwrap();
    assert_eq!((state.fires, state.last_fire_ms), (1, T0 + MIN));
    assert_eq!(store.counters().await.unwrap().schedule_fires, 1);
}

/// A paused schedule fires nothing; a resume drops the fires of the pause;
/// a trigger fires anyway without moving the last fire; retain removes the
/// states of schedules no longer loaded.
pub async fn pause_resume_trigger_and_retain(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    store.schedules_register(vec![id()], T0).await.unwrap();
    let paused = store.schedule_pause(id(), T0 + 1).await.unwrap();
    assert!(paused.paused);
    let none = store
        .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + MIN)
        .await
        .unwrap();
    assert!(none.runs.is_empty());
    let mut manual = run(vec![task("a", "p", 0)]);
    manual.idempotency_key = Some((format!("cron:demo:manual:{}", T0 + 2 * MIN), TTL));
    let trig = store
        .schedule_trigger(id(), manual, T0 + 2 * MIN)
        .await
        .unwrap();
    assert!(trig.created);
    let state = store.schedule_get(&id()).await.unwrap().unwrap();
    assert_eq!(
        (state.fires, state.last_fire_ms, state.paused),
        (1, T0, true)
    );
    let origin = &store.ledger(&trig.run_id).await.unwrap()[0].payload["origin"];
    assert_eq!(origin["manual"], json!(true));
    let resumed = store.schedule_resume(id(), T0 + 3 * MIN).await.unwrap();
    assert_eq!(
        (resumed.paused, resumed.last_fire_ms),
        (false, T0 + 3 * MIN)
    );
    let late = store
        .schedule_fire(tick(&[T0 + MIN], T0 + MIN), T0 + 3 * MIN)
        .await
        .unwrap();
    assert!(late.runs.is_empty());
    let other = ScheduleId::new("gone", "k");
    store
        .schedules_register(vec![other.clone()], T0)
        .await
        .unwrap();
    let listed: Vec<ScheduleId> = store
        .schedules_list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, [id(), other.clone()]);
    assert_eq!(
        store.schedules_retain(vec![id()]).await.unwrap(),
        std::slice::from_ref(&other)
    );
    assert!(store.schedule_get(&other).await.unwrap().is_none());
    assert!(matches!(
        store
            .schedules_register(vec![ScheduleId::new("", "k")], T0)
            .await,
        Err(StoreError::Invalid(_))
    ));
}

/// A lock is held until it expires, then taken over with a greater token;
/// renewal keeps the token; wrong tokens and expired locks are refused.
pub async fn locks_fence_and_expire(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let LockAcquire::Acquired { lock: ada, renewed } = store
        .lock_acquire("deploy/prod", "ada", 1_000, T0)
        .await
        .unwrap()
    else {
        panic!("a free lock")
    };
    assert!(!renewed);
    assert_eq!((ada.acquired_ms, ada.expires_ms), (T0, T0 + 1_000));
    assert_eq!(
        store
            .lock_acquire("deploy/prod", "bob", 1_000, T0 + 10)
            .await
            .unwrap(),
        LockAcquire::Held {
            owner: "ada".into(),
            expires_ms: T0 + 1_000
        }
    );
    let LockAcquire::Acquired {
        lock: renewal,
        renewed,
    } = store
        .lock_acquire("deploy/prod", "ada", 2_000, T0 + 500)
        .await
        .unwrap()
    else {
        panic!("ada holds it")
    };
    assert!(renewed);
    assert_eq!(
        (renewal.token, renewal.acquired_ms, renewal.expires_ms),
        (ada.token, T0, T0 + 2_500)
    );
    let LockAcquire::Acquired { lock: bob, .. } = store
        .lock_acquire("deploy/prod", "bob", 1_000, T0 + 2_500)
        .await
        .unwrap()
    else {
        panic!("expired: bob takes it")
    };
    assert!(bob.token > ada.token);
    let err = store
        .lock_release("deploy/prod", ada.token, T0 + 2_600)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::LockTokenMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(
        store.lock_get("deploy/prod", T0 + 2_600).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        store.locks_list(T0 + 2_600).await.unwrap(),
        vec![bob.clone()]
    );
    assert_eq!(
        store
            .lock_release("deploy/prod", bob.token, T0 + 2_600)
            .await
            .unwrap(),
        bob
    );
    assert!(matches!(
        store
            .lock_release("deploy/prod", bob.token, T0 + 2_601)
            .await,
        Err(StoreError::LockNotHeld { .. })
    ));
    let LockAcquire::Acquired { lock: x, .. } = store.lock_acquire("x", "c", 10, T0).await.unwrap()
    else {
        panic!("free")
    };
    assert!(x.token > bob.token, "tokens grow across keys");
    assert!(store.locks_list(T0 + 10).await.unwrap().is_empty());
    assert!(matches!(
        store.lock_release("x", x.token, T0 + 10).await,
        Err(StoreError::LockNotHeld { .. })
    ));
    for bad in ["", "a b", "ü"] {
        assert!(matches!(
            store.lock_acquire(bad, "o", 1, T0).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(matches!(
        store.lock_acquire("k", " ", 1, T0).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.lock_acquire("k", "o", 0, T0).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Thirty-two acquires of one free lock at once: one wins, the others are
/// told who holds it.
pub async fn of_concurrent_lock_acquires_exactly_one_wins(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..32 {
        let store = store.clone();
        set.spawn(async move {
            store
                .lock_acquire("one", &format!("o{i}"), 60_000, T0)
                .await
                .unwrap()
        });
    }
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    while let Some(done) = set.join_next().await {
        match done.unwrap() {
            LockAcquire::Acquired { lock, .. } => winners.push(lock.owner),
            LockAcquire::Held { owner, .. } => holders.push(owner),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(holders.len(), 31);
    assert!(holders.iter().all(|h| *h == winners[0]));
}

/// A model call is charged with its journaled answer, once: a replay of the
/// answer charges nothing; totals per run, tenant-day, pool-day and rows.
pub async fn a_charge_is_made_once_with_its_answer(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    let s = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    let charge = |micro_usd: u64, model: &str| Charge {
        day: "2026-11-22".into(),
        pool: "p".into(),
        model: model.into(),
        input_tokens: 100,
        output_tokens: 20,
        micro_usd,
        reservation: None,
    };
    assert!(
        store
            .journal_put_charged(&s.run_id, "a", 0, json!("x"), charge(1_500, "m1"), T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .journal_put_charged(&s.run_id, "a", 0, json!("y"), charge(1_500, "m1"), T0)
            .await
            .unwrap()
    );
    assert!(
        store
            .journal_put_charged(&s.run_id, "a", 1, json!("z"), charge(500, "m2"), T0)
            .await
            .unwrap()
    );
    assert_eq!(store.run_cost(&s.run_id).await.unwrap(), (2, 2_000));
    let cost = store.run_get(&s.run_id).await.unwrap().unwrap().cost;
    assert_eq!(
        (
            cost.calls,
            cost.input_tokens,
            cost.output_tokens,
            cost.micro_usd
        ),
        (2, 200, 40, 2_000)
    );
    assert_eq!(
        store.tenant_day_cost("2026-11-22", "acme").await.unwrap(),
        2_000
    );
    assert_eq!(store.pool_day_cost("2026-11-22", "p").await.unwrap(), 2_000);
    assert_eq!(store.pool_day_cost("2026-11-21", "p").await.unwrap(), 0);
    let rows = store.costs("2026-11-01", None).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.model.as_str(), r.calls, r.micro_usd))
            .collect::<Vec<_>>(),
        [("m1", 1, 1_500), ("m2", 1, 500)]
    );
    assert!(store.costs("2026-11-23", None).await.unwrap().is_empty());
    assert!(
        store
            .costs("2026-11-01", Some("other"))
            .await
            .unwrap()
            .is_empty()
    );
    let kinds: Vec<String> = store
        .ledger(&s.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "model-call-charged").count(),
        2
    );
    assert!(store.verify(&s.run_id).await.unwrap().is_ok());
}
