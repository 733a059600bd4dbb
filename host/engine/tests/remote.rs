//! The engine's side of remote workers, without HTTP: a lease carries the
//! rendered step, a report sent twice with the same token (its first answer
//! lost) is answered again instead of being refused, and another token is
//! refused and recorded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::future::pending;

use serde_json::json;
use weft_core::PluginError;
use weft_core::worker_protocol::{CompleteRequest, FailRequest, LeaseRequest};
use weft_engine::{EngineError, EngineOptions};

const FLOW: &str = r#"
id: pair
inputs:
  n: { type: integer, required: true }
steps:
  a: { uses: echo, with: { n: "${{ input.n }}" } }
  b: { uses: echo, needs: [a] }
"#;

fn ask() -> LeaseRequest {
    LeaseRequest {
        worker: "test".into(),
        owner: "test/0".into(),
        pools: None,
        lease_ms: 30_000,
        wait_ms: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_sent_twice_is_answered_twice_and_another_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let options = EngineOptions {
        workers: 1,
        ..EngineOptions::default()
    };
    let engine = common::engine(dir.path(), project, vec![flow], options).await;
    let run = engine
        .submit("pair", json!({"n": 7}), None)
        .await
        .unwrap()
        .run_id;

    let too_short = LeaseRequest {
        lease_ms: 10,
        ..ask()
    };
    let refused = engine.lease_remote(&too_short, pending()).await;
    assert!(
        matches!(refused, Err(EngineError::BadLease(_))),
        "{refused:?}"
    );
    let a = engine
        .lease_remote(&ask(), pending())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.run.as_str(), a.step.as_str(), a.plugin.as_str()),
        (run.as_str(), "a", "echo")
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&a.input).unwrap(),
        json!({"n": 7})
    );
    let done = |token| CompleteRequest {
        token,
        output: json!({"n": 7}),
        elapsed_ms: 1,
    };
    let first = engine.complete_remote(a.task, done(a.token)).await.unwrap();
    let again = engine.complete_remote(a.task, done(a.token)).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.outcome.as_str(), "succeeded");
    let store = engine.store();
    assert_eq!(
        common::count(store.as_ref(), &run, "step-succeeded", Some("a")).await,
        1
    );
    assert_eq!(
        common::count(store.as_ref(), &run, "stale-token-refused", None).await,
        0
    );

    let unknown = engine.complete_remote(9_999, done(a.token)).await;
    assert!(
        matches!(unknown, Err(EngineError::UnknownTask(9_999))),
        "{unknown:?}"
    );

    // Another token is not this lease's: refused, and recorded.
    let stale = engine.complete_remote(a.task, done(a.token + 1)).await;
    assert!(
        matches!(stale, Err(EngineError::LeaseLost { .. })),
        "{stale:?}"
    );
    assert_eq!(
        common::count(store.as_ref(), &run, "stale-token-refused", None).await,
        1
    );

    // A failure report, sent twice: the retry strategy decides once.
    let b = engine
        .lease_remote(&ask(), pending())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.step, "b");
    let fail = || FailRequest {
        token: b.token,
        error: PluginError::Permanent("broken".into()),
        message: "broken".into(),
        elapsed_ms: 1,
    };
    let first = engine.fail_remote(b.task, fail()).await.unwrap();
    let again = engine.fail_remote(b.task, fail()).await.unwrap();
    assert_eq!(first.outcome.as_str(), "dead-letter");
    assert_eq!(first, again);
    assert_eq!(
        common::count(store.as_ref(), &run, "step-dead-lettered", Some("b")).await,
        1
    );
    assert_eq!(
        common::count(store.as_ref(), &run, "stale-token-refused", None).await,
        1
    );
}
