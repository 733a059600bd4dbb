//! The reference plugins (Rust, Python, JavaScript) run in the real runtime and
//! give the right answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::sync::Arc;

use serde_json::{Value, json};
use weft_core::{
    AttemptInfo, Candidate, ChatMessage, CompletionRequest, PluginError, PluginKind, PoolState,
    RetryDecision, TenantLoad,
};
use weft_runtime::{CallError, MemoryLog, SingleAdapterHost};
use weft_tests::{ctx, load, run_info, runtime};

async fn run_step(name: &str, config: Value, input: Value) -> Result<Value, CallError> {
    let rt = runtime();
    let plugin = load(&rt, name, PluginKind::Step).await.expect("load");
    let out = plugin
        .run_step(
            &ctx(),
            &run_info(name),
            &config.to_string(),
            &input.to_string(),
        )
        .await?;
    Ok(serde_json::from_str(&out).expect("output is JSON"))
}

#[tokio::test]
async fn echo_returns_its_input() {
    let input = json!({"a": 1, "nested": {"b": [1, 2, "three"]}, "s": "héllo"});
    assert_eq!(
        run_step("echo", json!({}), input.clone()).await.unwrap(),
        input
    );
    assert_eq!(
        run_step("echo", json!({"wrap": "payload"}), json!(7))
            .await
            .unwrap(),
        json!({"payload": 7})
    );
}

#[tokio::test]
async fn json_transform_picks_renames_and_sets() {
    let input = json!({"user": {"name": "Ada", "id": 7}, "total": 12.5, "noise": true});
    let config = json!({
        "pick": ["user.name", "total", "missing"],
        "rename": {"total": "amount"},
        "set": {"source": "test"}
    });
    let out = run_step("json-transform", config, input).await.unwrap();
    assert_eq!(out["amount"], json!(12.5));
    assert_eq!(out["source"], json!("test"));
    assert_eq!(out["missing"], Value::Null);
    assert!(out.get("noise").is_none(), "unpicked field leaked: {out}");
    assert!(out.to_string().contains("Ada"), "{out}");
}

#[tokio::test]
async fn json_transform_rejects_a_missing_strict_field() {
    let err = run_step(
        "json-transform",
        json!({"pick": ["nope"], "strict": true}),
        json!({"a": 1}),
    )
    .await
    .unwrap_err();
    match err {
        CallError::Plugin(PluginError::InvalidInput(m)) => assert!(m.contains("nope"), "{m}"),
        other => panic!("expected invalid-input, got {other}"),
    }
}

#[tokio::test]
async fn prompt_calls_the_model_through_the_host_and_is_deterministic() {
    let rt = runtime();
    let prompt = load(&rt, "prompt", PluginKind::Step).await.unwrap();
    let model = load(&rt, "mock-model", PluginKind::Model).await.unwrap();
    let log = Arc::new(MemoryLog::default());
    let base = ctx().with_log(log.clone());
    let host = Arc::new(SingleAdapterHost::new(model, "{}".into(), base.clone()));
    let call_ctx = base.with_step_host(host);
    let config =
        json!({"model": "mock", "template": "Summarise: {{doc.title}}", "system": "Be brief."});
    let input = json!({"doc": {"title": "refunds in November"}});
    let first = prompt
        .run_step(
            &call_ctx,
            &run_info("p"),
            &config.to_string(),
            &input.to_string(),
        )
        .await
        .unwrap();
    let second = prompt
        .run_step(
            &call_ctx,
            &run_info("p"),
            &config.to_string(),
            &input.to_string(),
        )
        .await
        .unwrap();
    assert_eq!(first, second, "mock-model must be deterministic");
    let out: Value = serde_json::from_str(&first).unwrap();
    assert!(
        out["text"]
            .as_str()
            .unwrap()
            .contains("refunds in November"),
        "{out}"
    );
    assert!(out["usage"]["input_tokens"].as_u64().unwrap() > 0, "{out}");
    assert!(out["usage"]["output_tokens"].as_u64().unwrap() > 0, "{out}");
    assert!(
        log.lines().iter().any(|l| l.plugin == "prompt"),
        "prompt should log through the host: {:?}",
        log.lines()
    );
}

#[tokio::test]
async fn prompt_names_an_unknown_placeholder() {
    let err = run_step(
        "prompt",
        json!({"model": "m", "template": "Hi {{who}}"}),
        json!({"name": "x"}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("who"), "{err}");
}

#[tokio::test]
async fn mock_model_answers_by_request_and_honours_max_tokens() {
    let rt = runtime();
    let model = load(&rt, "mock-model", PluginKind::Model).await.unwrap();
    let req = |text: &str, max| CompletionRequest {
        model: "mock".into(),
        messages: vec![ChatMessage {
            role: "user".into(),
            content: text.into(),
        }],
        max_tokens: max,
        temperature: None,
        extra: None,
    };
    let a = model
        .complete(&ctx(), "{}", &req("one two three", None))
        .await
        .unwrap();
    let b = model
        .complete(&ctx(), "{}", &req("one two three", None))
        .await
        .unwrap();
    let c = model
        .complete(&ctx(), "{}", &req("something else entirely", None))
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a.text, c.text);
    assert_eq!(a.usage.input_tokens, 3);
    assert_eq!(a.finish_reason, "stop");
    let short = model
        .complete(&ctx(), "{}", &req("one two three", Some(2)))
        .await
        .unwrap();
    assert_eq!(short.finish_reason, "length");
    assert!(short.usage.output_tokens <= 2);
    let err = model
        .complete(&ctx(), r#"{"fail":"transient"}"#, &req("x", None))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}

fn attempt(n: u32, error: PluginError) -> AttemptInfo {
    AttemptInfo {
        run_id: "r1".into(),
        flow_id: "f".into(),
        step_id: "s".into(),
        attempt: n,
        error,
        elapsed_ms: 0,
    }
}

#[tokio::test]
async fn exp_backoff_grows_then_dead_letters() {
    let rt = runtime();
    let retry = load(&rt, "exp-backoff", PluginKind::Retry).await.unwrap();
    let config = r#"{"base_ms": 100, "factor": 2.0, "jitter_ms": 0, "max_attempts": 4}"#;
    let transient = PluginError::Transient("503".into());
    let mut delays = Vec::new();
    for n in 1..=3 {
        match retry
            .decide(&ctx(), config, &attempt(n, transient.clone()))
            .await
            .unwrap()
        {
            RetryDecision::RetryAfter(ms) => delays.push(ms),
            other => panic!("attempt {n}: expected a retry, got {other:?}"),
        }
    }
    assert_eq!(delays, vec![100, 200, 400]);
    assert!(matches!(
        retry
            .decide(&ctx(), config, &attempt(4, transient))
            .await
            .unwrap(),
        RetryDecision::DeadLetter(_)
    ));
    assert!(matches!(
        retry
            .decide(
                &ctx(),
                config,
                &attempt(1, PluginError::Permanent("400".into()))
            )
            .await
            .unwrap(),
        RetryDecision::DeadLetter(_)
    ));
}

#[tokio::test]
async fn exp_backoff_jitter_is_bounded_and_repeatable() {
    let rt = runtime();
    let retry = load(&rt, "exp-backoff", PluginKind::Retry).await.unwrap();
    let config = r#"{"base_ms": 1000, "factor": 1.0, "jitter_ms": 50}"#;
    let a = attempt(2, PluginError::Transient("x".into()));
    let first = retry.decide(&ctx(), config, &a).await.unwrap();
    assert_eq!(first, retry.decide(&ctx(), config, &a).await.unwrap());
    let RetryDecision::RetryAfter(ms) = first else {
        panic!("{first:?}")
    };
    assert!((1000..1050).contains(&ms), "{ms}");
}

fn candidate(id: &str, tenant: &str, priority: i32, ready_at_ms: u64) -> Candidate {
    Candidate {
        task_id: id.into(),
        run_id: format!("run-{id}"),
        flow_id: "f".into(),
        tenant: tenant.into(),
        priority,
        ready_at_ms,
    }
}

fn pool(free_slots: u32, active_by_tenant: Vec<TenantLoad>) -> PoolState {
    PoolState {
        pool: "default".into(),
        active: active_by_tenant.iter().map(|t| t.active).sum(),
        max_concurrent: 10,
        free_slots,
        now_ms: 100_000,
        active_by_tenant,
    }
}

#[tokio::test]
async fn priority_fifo_orders_by_priority_then_age() {
    let rt = runtime();
    let policy = load(&rt, "priority-fifo", PluginKind::Pool).await.unwrap();
    let candidates = [
        candidate("old-low", "a", 0, 1),
        candidate("new-high", "a", 9, 50),
        candidate("old-high", "b", 9, 10),
        candidate("newest-low", "b", 0, 99),
    ];
    let chosen = policy
        .select(&ctx(), "{}", &pool(3, vec![]), &candidates)
        .await
        .unwrap();
    assert_eq!(chosen, vec!["old-high", "new-high", "old-low"]);
}

#[tokio::test]
async fn fair_share_favours_the_tenant_with_less_running() {
    let rt = runtime();
    let policy = load(&rt, "fair-share", PluginKind::Pool).await.unwrap();
    let candidates = [
        candidate("busy-1", "busy", 5, 1),
        candidate("busy-2", "busy", 5, 2),
        candidate("idle-1", "idle", 0, 3),
        candidate("idle-2", "idle", 0, 4),
    ];
    let state = pool(
        2,
        vec![TenantLoad {
            tenant: "busy".into(),
            active: 3,
        }],
    );
    let chosen = policy
        .select(&ctx(), "{}", &state, &candidates)
        .await
        .unwrap();
    assert_eq!(chosen.len(), 2);
    assert_eq!(chosen[0], "idle-1", "{chosen:?}");
    assert!(chosen.contains(&"idle-2".to_string()) || chosen.contains(&"busy-1".to_string()));
}

#[tokio::test]
async fn python_text_stats_counts_words_and_sentences() {
    let out = run_step(
        "text-stats",
        json!({"top": 2}),
        json!({"text": "The cat sat. The cat ran! A dog?"}),
    )
    .await
    .unwrap();
    assert_eq!(out["words"], json!(8));
    assert_eq!(out["sentences"], json!(3));
    assert_eq!(out["top_words"], json!([["cat", 2], ["the", 2]]));
}

#[tokio::test]
async fn python_text_stats_reports_bad_input_as_invalid_input() {
    let err = run_step("text-stats", json!({}), json!({"body": "x"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Plugin(PluginError::InvalidInput(m)) if m.contains("text")),
        "{err}"
    );
}

#[tokio::test]
async fn javascript_reshape_groups_and_sums() {
    let items = json!({"items": [
        {"k": "a", "amount": 2}, {"k": "b", "amount": 10}, {"k": "a", "amount": 3}
    ]});
    let out = run_step(
        "reshape",
        json!({"group_by": "k", "sum": ["amount"], "count_as": "n", "sort_by": "-amount"}),
        items,
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        json!({"groups": [{"k": "b", "n": 1, "amount": 10}, {"k": "a", "n": 2, "amount": 5}]})
    );
}

#[tokio::test]
async fn javascript_reshape_names_the_bad_item() {
    let err = run_step(
        "reshape",
        json!({"group_by": "k", "sum": ["amount"]}),
        json!({"items": [{"k": "a", "amount": 1}, {"k": "a", "amount": "lots"}]}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, CallError::Plugin(PluginError::InvalidInput(m)) if m.contains("items[1]")),
        "{err}"
    );
}
