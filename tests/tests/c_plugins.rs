//! The C plugins (plugins/c, built by plugins/c/build.sh with wit-bindgen c,
//! clang and wasm-tools): the reference step and retry strategy do their job,
//! and a C step that writes out of bounds or loops is contained like the Rust
//! hostile plugins: its own call fails with a clear error, and the same
//! runtime runs the next call.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::time::Duration;

use serde_json::{Value, json};
use weft_core::{AttemptInfo, PluginError, PluginKind, RetryDecision};
use weft_runtime::{CallError, CallLimits, Runtime};
use weft_tests::{ctx, ctx_with, load, run_info, runtime};

async fn word_count(rt: &Runtime, config: &str, input: &str) -> Result<Value, CallError> {
    let plugin = load(rt, "word-count", PluginKind::Step).await.unwrap();
    let out = plugin
        .run_step(&ctx(), &run_info("count"), config, input)
        .await?;
    Ok(serde_json::from_str(&out).unwrap())
}

#[tokio::test]
async fn the_c_step_counts_words_characters_and_lines() {
    let rt = runtime();
    let text = json!({"text": "héllo wörld\nsecond  line\n\tthird"}).to_string();
    let out = word_count(&rt, "{}", &text).await.unwrap();
    assert_eq!(out, json!({"words": 5, "characters": 31, "lines": 3}));
    // Another field, with escapes decoded: "a\"b c" is two words.
    let out = word_count(&rt, r#"{"field":"body"}"#, r#"{"body":"a\"b c","text":1}"#)
        .await
        .unwrap();
    assert_eq!(out["words"], 2);
}

#[tokio::test]
async fn the_c_step_names_the_missing_field() {
    let rt = runtime();
    let err = word_count(&rt, "{}", r#"{"txt":"x"}"#).await.unwrap_err();
    match err {
        CallError::Plugin(PluginError::InvalidInput(m)) => {
            assert_eq!(m, "input.text: required, a string");
        }
        other => panic!("expected invalid-input, got {other}"),
    }
    let err = word_count(&rt, "[]", "{}").await.unwrap_err();
    assert!(
        err.to_string().contains("config: expected a JSON object"),
        "{err}"
    );
}

fn attempt(n: u32, error: PluginError) -> AttemptInfo {
    AttemptInfo {
        run_id: "r".into(),
        flow_id: "f".into(),
        step_id: "s".into(),
        attempt: n,
        error,
        elapsed_ms: 0,
    }
}

#[tokio::test]
async fn the_c_retry_strategy_decides() {
    let rt = runtime();
    let plugin = load(&rt, "fixed-delay", PluginKind::Retry).await.unwrap();
    let decide = |config: &'static str, a: AttemptInfo| {
        let plugin = plugin.clone();
        async move { plugin.decide(&ctx(), config, &a).await.unwrap() }
    };
    let transient = || PluginError::Transient("HTTP 503".into());
    let config = r#"{"delay_ms": 250, "max_attempts": 2}"#;
    assert_eq!(
        decide(config, attempt(1, transient())).await,
        RetryDecision::RetryAfter(250)
    );
    assert_eq!(
        decide(config, attempt(2, transient())).await,
        RetryDecision::DeadLetter("gave up after 2 attempts: HTTP 503".into())
    );
    assert_eq!(
        decide("{}", attempt(1, PluginError::Permanent("gone".into()))).await,
        RetryDecision::DeadLetter("gone".into())
    );
    assert_eq!(
        decide("{}", attempt(1, PluginError::InvalidInput("bad".into()))).await,
        RetryDecision::Fail("bad".into())
    );
    assert_eq!(
        decide(r#"{"delay_ms": "soon"}"#, attempt(1, transient())).await,
        RetryDecision::Fail("fixed-delay: config.delay_ms: expected an integer >= 0".into())
    );
}

/// After a hostile C call, the C reference step still runs on the same runtime.
async fn assert_word_count_still_works(rt: &Runtime) {
    let out = word_count(rt, "{}", r#"{"text":"still here"}"#)
        .await
        .unwrap();
    assert_eq!(out["words"], 2);
}

#[tokio::test]
async fn a_c_write_out_of_bounds_traps_only_its_call() {
    let rt = runtime();
    let plugin = load(&rt, "c-hostile-oob", PluginKind::Step).await.unwrap();
    let err = plugin
        .run_step(&ctx(), &run_info("oob"), "{}", "{}")
        .await
        .unwrap_err();
    match &err {
        CallError::Trap { message, .. } => {
            assert!(message.contains("out of bounds"), "{message}");
        }
        other => panic!("expected an out-of-bounds trap, got {other}"),
    }
    assert_word_count_still_works(&rt).await;
}

#[tokio::test]
async fn a_c_infinite_loop_is_stopped_at_its_deadline() {
    let rt = runtime();
    let plugin = load(&rt, "c-hostile-loop", PluginKind::Step).await.unwrap();
    let deadline = Duration::from_millis(300);
    let limits = CallLimits {
        timeout: deadline,
        ..CallLimits::default()
    };
    let err = plugin
        .run_step(&ctx_with(limits), &run_info("loop"), "{}", "{}")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::DeadlineExceeded { timeout } if timeout == deadline),
        "{err}"
    );
    assert_word_count_still_works(&rt).await;
}
