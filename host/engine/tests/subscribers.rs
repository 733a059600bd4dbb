//! Event subscribers that went away are pruned when the next one subscribes,
//! not only at the next event: a quiet daemon answering many
//! `GET /v1/runs/{id}?wait=` of finished runs kept a channel per request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use weft_engine::EngineOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_subscribers_do_not_pile_up_on_a_quiet_engine() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::project();
    let flow = common::flow(&project, "id: one\nsteps:\n  a: { uses: echo }\n");
    let options = EngineOptions {
        workers: 0,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let live = engine.subscribe();
    for _ in 0..10_000 {
        drop(engine.subscribe());
    }
    // The live one and the last dropped one (pruned by the next subscribe).
    assert!(
        engine.subscriber_count() <= 2,
        "{}",
        engine.subscriber_count()
    );
    drop(live);
    drop(engine.subscribe());
    assert!(
        engine.subscriber_count() <= 1,
        "{}",
        engine.subscriber_count()
    );
}
