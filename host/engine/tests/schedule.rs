//! Cron schedules fire runs on a manual clock (runs are counted in the store,
//! not executed): a day of an every-minute schedule fires 1,440 times, also
//! across a restart; `catch-up` and `skip` after a downtime; DST in
//! `Europe/Paris`; ticks at the same instant and a clock stepping back double
//! nothing; pause, resume and trigger; the background scheduler wakes on
//! `Engine::wake`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weft_engine::{Clock, Engine, EngineError, EngineOptions, Fired, ManualClock, fire_key};
use weft_flow::ProjectConfig;
use weft_store_api::RunFilter;

const MIN: u64 = 60_000;
const DAY: u64 = 24 * 60 * MIN;

fn project() -> ProjectConfig {
    common::project_from(
        "id_prefix: cron\nplugins:\n  echo: { path: plugins/dist/echo.wasm, kind: step }\n",
    )
}

/// A flow `id` with one step and one schedule entry (`cron`, extra keys).
fn flow_text(id: &str, cron: &str, extra: &str) -> String {
    format!(
        "id: {id}\ninputs:\n  team: {{ type: string, default: none }}\nsteps:\n  hello: {{ uses: echo }}\nschedule:\n  - cron: \"{cron}\"\n    input: {{ team: billing }}\n{extra}"
    )
}

/// An engine on `flows` (id, cron, extra) in `dir`, reading `clock`.
async fn open(dir: &Path, clock: &Arc<ManualClock>, flows: &[(&str, &str, &str)]) -> Engine {
    let project = project();
    let compiled = flows
        .iter()
        .map(|(id, cron, extra)| common::flow(&project, &flow_text(id, cron, extra)))
        .collect();
    let options = EngineOptions {
        workers: 1,
        clock: Arc::clone(clock) as Arc<dyn Clock>,
        ..EngineOptions::default()
    };
    common::engine(dir, project, compiled, options).await
}

/// Stops the engine's store writer and drops the engine, so that the state
/// folder can be opened again.
async fn close(engine: Engine) {
    engine.store().clone().close().await;
    drop(engine);
}

/// ms of an RFC 3339 time.
fn ms(text: &str) -> u64 {
    let t = chrono::DateTime::parse_from_rfc3339(text).unwrap();
    u64::try_from(t.timestamp_millis()).unwrap()
}

/// The idempotency keys of every run of `flow` in the store, from each run's
/// `run-created` event, sorted; checks that each run came from the schedule.
async fn stored_keys(engine: &Engine, flow: &str) -> Vec<String> {
    let store = engine.store();
    let filter = RunFilter {
        flow_id: Some(flow.into()),
        ..RunFilter::default()
    };
    let mut keys = Vec::new();
    for run in store.runs_list(100_000, &filter).await.unwrap() {
        assert_eq!(run.input, json!({"team": "billing"}));
        let created = &store.ledger(&run.id).await.unwrap()[0];
        assert_eq!(created.kind, "run-created");
        assert_eq!(created.payload["origin"]["schedule"]["flow"], flow);
        keys.push(
            created.payload["idempotency_key"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    keys.sort();
    keys
}

/// Sets the clock to `now` and ticks.
async fn tick_at(engine: &Engine, clock: &ManualClock, now: u64) -> Vec<Fired> {
    clock.set(now);
    engine.tick_schedules().await.unwrap()
}

/// Steps of the simulated day, in ms: mostly 37 s, sometimes several minutes
/// at once, sometimes just over or under the grace.
const STEPS: [u64; 9] = [
    37_000,
    37_000,
    5 * MIN,
    37_000,
    1_000,
    12 * MIN + 7_000,
    59_000,
    61_000,
    37_000,
];

/// Ticks from the clock's reading up to `until` in [`STEPS`]; every fire.
async fn tick_until(
    engine: &Engine,
    clock: &ManualClock,
    until: u64,
    step: &mut usize,
) -> Vec<Fired> {
    let mut fired = Vec::new();
    while clock.now_ms() < until {
        let next = (clock.now_ms() + STEPS[*step % STEPS.len()]).min(until);
        *step += 1;
        let got = tick_at(engine, clock, next).await;
        assert!(
            got.iter().all(|f| f.created && f.fire_ms <= next),
            "{got:?}"
        );
        fired.extend(got);
    }
    fired
}

/// The 1,440 fire keys of the day that starts at `day`.
fn day_keys(flow: &str, day: u64) -> Vec<String> {
    let mut keys: Vec<String> = (0..1440)
        .map(|m| fire_key(flow, 0, day + m * MIN))
        .collect();
    keys.sort();
    keys
}

const CATCH_ALL: &str = "    missed: { catch-up: 1000 }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_minute_over_a_day_fires_1440_times() {
    let day = ms("2026-06-01T00:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(day - 1));
    let engine = open(
        dir.path(),
        &clock,
        &[("minutely", "0 * * * * *", CATCH_ALL)],
    )
    .await;
    // The first tick registers the schedule at day - 1 ms: its first fire is
    // midnight.
    assert!(engine.tick_schedules().await.unwrap().is_empty());
    assert_eq!(engine.next_fire().await.unwrap(), Some(day));

    let mut step = 0;
    let fired = tick_until(&engine, &clock, day + DAY - 1, &mut step).await;
    assert_eq!(fired.len(), 1440);
    let times: Vec<u64> = fired.iter().map(|f| f.fire_ms).collect();
    let expected: Vec<u64> = (0..1440).map(|m| day + m * MIN).collect();
    assert_eq!(times, expected, "each minute once, in order");
    assert!(
        fired
            .iter()
            .all(|f| f.idempotency_key == fire_key("minutely", 0, f.fire_ms))
    );
    assert_eq!(
        fired[0].idempotency_key,
        "cron:minutely:2026-06-01T00:00:00Z"
    );
    assert_eq!(
        stored_keys(&engine, "minutely").await,
        day_keys("minutely", day)
    );
    assert_eq!(
        engine.store().counters().await.unwrap().schedule_fires,
        1440
    );
    assert_eq!(engine.next_fire().await.unwrap(), Some(day + DAY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_neither_loses_nor_doubles_a_fire() {
    let day = ms("2026-06-02T00:00:00Z");
    let flows = [("minutely", "0 * * * * *", CATCH_ALL)];
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(day - 1));
    let engine = open(dir.path(), &clock, &flows).await;
    engine.tick_schedules().await.unwrap();
    let mut step = 0;
    let mut fired = tick_until(&engine, &clock, day + DAY / 2 + 20_000, &mut step).await;
    close(engine).await;

    // Down for seven minutes; the same instant is ticked again first.
    let engine = open(dir.path(), &clock, &flows).await;
    assert!(engine.tick_schedules().await.unwrap().is_empty());
    let back = tick_at(&engine, &clock, clock.now_ms() + 7 * MIN).await;
    assert_eq!(
        back.len(),
        7,
        "the seven missed fires are caught up: {back:?}"
    );
    fired.extend(back);
    fired.extend(tick_until(&engine, &clock, day + DAY - 1, &mut step).await);

    let distinct: BTreeSet<u64> = fired.iter().map(|f| f.fire_ms).collect();
    assert_eq!(fired.len(), 1440);
    assert_eq!(distinct.len(), 1440);
    assert_eq!(
        stored_keys(&engine, "minutely").await,
        day_keys("minutely", day)
    );
    assert_eq!(
        engine.store().counters().await.unwrap().schedule_fires,
        1440
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_ten_minutes_down_catch_up_fires_the_last_three_and_skip_none() {
    let m0 = ms("2026-06-03T08:00:00Z");
    let flows = [
        ("catcher", "0 * * * * *", "    missed: { catch-up: 3 }\n"),
        ("skipper", "0 * * * * *", "    missed: skip\n"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(m0 + 10_000));
    let engine = open(dir.path(), &clock, &flows).await;
    engine.tick_schedules().await.unwrap();
    let before = tick_at(&engine, &clock, m0 + MIN + 5_000).await;
    assert_eq!(fires_of(&before, "catcher"), [m0 + MIN]);
    assert_eq!(fires_of(&before, "skipper"), [m0 + MIN]);
    close(engine).await;

    // Ten minutes later: the fires of 2..=10 min are missed (more than a
    // minute late); 11 min is 5 s late, on time.
    let engine = open(dir.path(), &clock, &flows).await;
    let back = tick_at(&engine, &clock, m0 + 11 * MIN + 5_000).await;
    let at = |mins: &[u64]| mins.iter().map(|m| m0 + m * MIN).collect::<Vec<_>>();
    assert_eq!(fires_of(&back, "catcher"), at(&[8, 9, 10, 11]));
    assert_eq!(fires_of(&back, "skipper"), at(&[11]));

    // Both go on normally.
    let next = tick_at(&engine, &clock, m0 + 12 * MIN + 5_000).await;
    assert_eq!(fires_of(&next, "catcher"), at(&[12]));
    assert_eq!(fires_of(&next, "skipper"), at(&[12]));
    assert_eq!(stored_keys(&engine, "catcher").await.len(), 6);
    assert_eq!(stored_keys(&engine, "skipper").await.len(), 3);
}

fn fires_of(fired: &[Fired], flow: &str) -> Vec<u64> {
    fired
        .iter()
        .filter(|f| f.flow == flow)
        .map(|f| f.fire_ms)
        .collect()
}

/// The fire times (RFC 3339 UTC) of `0 30 2 * * *` in Europe/Paris, ticked
/// from `from` to `to` every `step` ms.
async fn paris_fires(from: &str, to: &str, step: u64) -> Vec<String> {
    let extra = "    timezone: Europe/Paris\n    missed: { catch-up: 5 }\n";
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(ms(from)));
    let engine = open(dir.path(), &clock, &[("paris", "0 30 2 * * *", extra)]).await;
    engine.tick_schedules().await.unwrap();
    let mut fired = Vec::new();
    while clock.now_ms() < ms(to) {
        let next = (clock.now_ms() + step).min(ms(to));
        fired.extend(tick_at(&engine, &clock, next).await);
    }
    assert_eq!(stored_keys(&engine, "paris").await.len(), fired.len());
    fired
        .iter()
        .map(|f| {
            let key = f.idempotency_key.clone();
            key.strip_prefix("cron:paris:").unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dst_a_skipped_time_does_not_fire_and_a_repeated_time_fires_twice() {
    // Spring forward, 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not
    // exist, so that day has no fire.
    let spring = ["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"];
    // Fall back, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens at
    // 00:30 UTC and again at 01:30 UTC: two fires.
    let fall = [
        "2026-10-24T00:30:00Z",
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:30:00Z",
        "2026-10-26T01:30:00Z",
    ];
    for step in [7 * MIN, 45 * MIN, DAY] {
        let got = paris_fires("2026-03-27T12:00:00Z", "2026-03-30T12:00:00Z", step).await;
        assert_eq!(got, spring, "step {step} ms");
        let got = paris_fires("2026-10-23T12:00:00Z", "2026-10-26T12:00:00Z", step).await;
        assert_eq!(got, fall, "step {step} ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_instant_twice_or_a_clock_stepping_back_doubles_nothing() {
    let m0 = ms("2026-06-04T08:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(m0 + 10_000));
    let engine = open(dir.path(), &clock, &[("steady", "0 * * * * *", CATCH_ALL)]).await;
    engine.tick_schedules().await.unwrap();
    assert_eq!(
        fires_of(&tick_at(&engine, &clock, m0 + MIN + 1).await, "steady"),
        [m0 + MIN]
    );
    assert!(tick_at(&engine, &clock, m0 + MIN + 1).await.is_empty());
    assert!(engine.tick_schedules().await.unwrap().is_empty());
    // The clock steps back five minutes, then comes forward again.
    assert!(tick_at(&engine, &clock, m0 - 5 * MIN).await.is_empty());
    assert_eq!(engine.next_fire().await.unwrap(), Some(m0 + 2 * MIN));
    assert!(tick_at(&engine, &clock, m0).await.is_empty());
    assert!(tick_at(&engine, &clock, m0 + MIN + 30_000).await.is_empty());
    assert_eq!(
        fires_of(&tick_at(&engine, &clock, m0 + 2 * MIN).await, "steady"),
        [m0 + 2 * MIN]
    );
    // Two ticks at once: the store applies them one after the other.
    clock.set(m0 + 3 * MIN);
    let (a, b) = tokio::join!(engine.tick_schedules(), engine.tick_schedules());
    let both: Vec<u64> = a
        .unwrap()
        .iter()
        .chain(&b.unwrap())
        .map(|f| f.fire_ms)
        .collect();
    assert_eq!(both, [m0 + 3 * MIN]);
    assert_eq!(stored_keys(&engine, "steady").await.len(), 3);
    assert_eq!(engine.store().counters().await.unwrap().schedule_fires, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cannot_take_a_fire_key_before_the_schedule() {
    let m0 = ms("2026-06-05T08:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(m0 + 10_000));
    let engine = open(dir.path(), &clock, &[("guarded", "0 * * * * *", CATCH_ALL)]).await;
    engine.tick_schedules().await.unwrap();
    // The engine's own tenant (as a `default` tenant's token would) submits
    // with the key of the next fire, then the fire comes.
    let key = fire_key("guarded", 0, m0 + MIN);
    let early = engine
        .submit_with(
            "guarded",
            json!({"team": "billing"}),
            weft_engine::SubmitOptions {
                idempotency_key: Some(key.clone()),
                ..weft_engine::SubmitOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(early.created);
    let fired = tick_at(&engine, &clock, m0 + MIN + 1).await;
    assert_eq!(fires_of(&fired, "guarded"), [m0 + MIN]);
    assert!(fired.iter().all(|f| f.created), "{fired:?}");
    assert_eq!(
        stored_keys_of_schedule(&engine, "guarded").await,
        std::slice::from_ref(&key)
    );
    // The caller's key still answers the caller's run.
    let again = engine
        .submit_with(
            "guarded",
            json!({"team": "billing"}),
            weft_engine::SubmitOptions {
                idempotency_key: Some(key),
                ..weft_engine::SubmitOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.run_id, early.run_id);
}

/// The idempotency keys of the runs of `flow` that its schedule fired.
async fn stored_keys_of_schedule(engine: &Engine, flow: &str) -> Vec<String> {
    let store = engine.store();
    let filter = RunFilter {
        flow_id: Some(flow.into()),
        ..RunFilter::default()
    };
    let mut keys = Vec::new();
    for run in store.runs_list(100, &filter).await.unwrap() {
        let created = &store.ledger(&run.id).await.unwrap()[0];
        if created.payload["origin"]["schedule"]["flow"].is_string()
            && let Some(key) = created.payload["idempotency_key"].as_str()
        {
            keys.push(key.to_owned());
        }
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_trigger() {
    let m0 = ms("2026-06-05T08:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(m0 + 10_000));
    let engine = open(
        dir.path(),
        &clock,
        &[("pausable", "0 * * * * *", CATCH_ALL)],
    )
    .await;
    let listed = engine.schedules_list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].state, None,
        "not registered before the first tick"
    );
    assert_eq!(listed[0].key, "0|0 * * * * *|UTC");
    assert_eq!(listed[0].next_fire_ms, Some(m0 + MIN));
    assert_eq!(
        engine.next_fire().await.unwrap(),
        Some(m0 + 10_000),
        "a tick is due to register it"
    );
    engine.tick_schedules().await.unwrap();

    let paused = engine.schedules_pause("pausable", 0).await.unwrap();
    assert!(paused.paused);
    assert!(
        tick_at(&engine, &clock, m0 + 3 * MIN + 1_000)
            .await
            .is_empty()
    );
    assert_eq!(engine.next_fire().await.unwrap(), None);
    let listed = engine.schedules_list().await.unwrap();
    assert!(listed[0].state.as_ref().unwrap().paused);
    assert_eq!(listed[0].next_fire_ms, None);

    // A trigger fires now, paused or not, with its own key.
    let triggered = engine.schedules_trigger("pausable", 0).await.unwrap();
    assert!(triggered.created);
    assert_eq!(
        triggered.idempotency_key,
        "cron:pausable:manual:2026-06-05T08:03:01.000Z"
    );
    let run = engine
        .store()
        .run_get(&triggered.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.input, json!({"team": "billing"}));
    let created = &engine.store().ledger(&triggered.run_id).await.unwrap()[0];
    assert_eq!(created.payload["origin"]["manual"], true);

    // Resume: the fires of 1, 2 and 3 min fell during the pause and are dropped.
    let resumed = engine.schedules_resume("pausable", 0).await.unwrap();
    assert!(!resumed.paused);
    assert_eq!(resumed.last_fire_ms, m0 + 3 * MIN + 1_000);
    assert_eq!(engine.next_fire().await.unwrap(), Some(m0 + 4 * MIN));
    assert!(engine.tick_schedules().await.unwrap().is_empty());
    let after = tick_at(&engine, &clock, m0 + 4 * MIN).await;
    assert_eq!(fires_of(&after, "pausable"), [m0 + 4 * MIN]);
    let state = engine.schedules_list().await.unwrap()[0]
        .state
        .clone()
        .unwrap();
    assert_eq!(state.fires, 2);
    assert_eq!(state.last_run.as_deref(), Some(after[0].run_id.as_str()));
    assert_eq!(stored_keys(&engine, "pausable").await.len(), 2);

    let err = engine.schedules_pause("pausable", 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::UnknownSchedule {
                index: 1,
                count: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = engine.schedules_trigger("nope", 0).await.unwrap_err();
    assert!(matches!(err, EngineError::UnknownFlow(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_scheduler_fires_when_woken_after_the_clock_moved() {
    let m0 = ms("2026-06-06T08:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(m0 + 10_000));
    let engine = open(dir.path(), &clock, &[("woken", "0 * * * * *", CATCH_ALL)]).await;
    let scheduler = engine.start_scheduler();
    let mut ticks = scheduler.ticks();
    let limit = Duration::from_secs(30);
    // It ticks once at start (registering the schedule), then sleeps.
    tokio::time::timeout(limit, ticks.wait_for(|n| *n >= 1))
        .await
        .unwrap()
        .unwrap();
    assert!(engine.schedules_list().await.unwrap()[0].state.is_some());

    clock.set(m0 + 2 * MIN + 1_000);
    engine.wake();
    tokio::time::timeout(limit, ticks.wait_for(|n| *n >= 2))
        .await
        .unwrap()
        .unwrap();
    scheduler.shutdown().await;
    assert_eq!(
        stored_keys(&engine, "woken").await,
        [
            fire_key("woken", 0, m0 + MIN),
            fire_key("woken", 0, m0 + 2 * MIN)
        ]
    );
}
