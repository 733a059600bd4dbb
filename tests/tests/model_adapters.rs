//! The real `openai-compat` and `anthropic` adapters, run in the real runtime,
//! talk over `wasi:http` to a fake provider on loopback that speaks both
//! protocols. The host's HTTP policy lets them reach only the listed hosts and
//! puts the API key in on the way out.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use weft_core::{ChatMessage, Completion, CompletionRequest, PluginError, PluginKind};
use weft_fake_provider::{FakeProvider, Reply};
use weft_runtime::{CallContext, CallLimits, HostRule, HttpPolicy, HttpTimeouts, Plugin, Runtime};

const KEY: &str = "sk-test-0123456789-SECRET";

/// The built adapter `name`, and the runtime that must outlive it.
async fn adapter(name: &str) -> (Runtime, Arc<Plugin>) {
    let runtime = weft_tests::runtime();
    let plugin = weft_tests::load(&runtime, name, PluginKind::Model)
        .await
        .unwrap();
    (runtime, plugin)
}

fn rules(list: &[&str]) -> Vec<HostRule> {
    list.iter().map(|r| r.parse().unwrap()).collect()
}

fn policy(allowed: &[&str], timeouts: HttpTimeouts) -> HttpPolicy {
    HttpPolicy::new("test-model", rules(allowed), Some(KEY), timeouts).unwrap()
}

fn request(extra: Option<Value>) -> CompletionRequest {
    CompletionRequest {
        model: "test-model".into(),
        messages: vec![
            ChatMessage {
                role: "system".into(),
                content: "Be brief.".into(),
            },
            ChatMessage {
                role: "user".into(),
                content: "Say hello".into(),
            },
        ],
        max_tokens: Some(50),
        temperature: Some(0.5),
        extra: extra.map(|e| e.to_string()),
    }
}

/// Calls `plugin` at the fake, allowed to reach only the fake, with default
/// timeouts; `config` is merged over the endpoint.
async fn call(
    plugin: &Plugin,
    fake: &FakeProvider,
    config: Value,
    req: &CompletionRequest,
) -> (Result<Completion, PluginError>, HttpPolicy) {
    call_with(
        plugin,
        fake,
        config,
        req,
        policy(&[&fake.host_port()], HttpTimeouts::default()),
    )
    .await
}

async fn call_with(
    plugin: &Plugin,
    fake: &FakeProvider,
    config: Value,
    req: &CompletionRequest,
    policy: HttpPolicy,
) -> (Result<Completion, PluginError>, HttpPolicy) {
    let mut c = json!({ "endpoint": fake.base_url(), "model": "provider-model" });
    for (k, v) in config.as_object().unwrap() {
        c[k] = v.clone();
    }
    let config = c.to_string();
    assert!(
        !config.contains(KEY),
        "the adapter's config never has the key"
    );
    let ctx = CallContext::new(CallLimits::default()).with_http(policy.clone());
    let result = plugin
        .complete(&ctx, &config, req)
        .await
        .map_err(|e| e.to_plugin_error());
    (result, policy)
}

fn transient(r: Result<Completion, PluginError>) -> String {
    match r {
        Err(PluginError::Transient(m)) => m,
        other => panic!("expected a transient error, got {other:?}"),
    }
}

fn permanent(r: Result<Completion, PluginError>) -> String {
    match r {
        Err(PluginError::Permanent(m)) => m,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[tokio::test]
async fn openai_compat_answers_and_the_host_injects_the_key() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::text("Hello!", 7, 2));
    let (_runtime, plugin) = adapter("openai-compat").await;
    let (result, policy) = call(
        &plugin,
        &fake,
        json!({}),
        &request(Some(json!({"seed": 7}))),
    )
    .await;
    let answer = result.unwrap();
    assert_eq!(answer.text, "Hello!");
    assert_eq!(answer.model, "provider-model");
    assert_eq!(answer.finish_reason, "stop");
    assert_eq!(
        (answer.usage.input_tokens, answer.usage.output_tokens),
        (7, 2)
    );
    assert_eq!(answer.usage.cost_usd, 0.0, "the host prices the tokens");
    assert!(policy.refusals().is_empty());

    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body = sent.json();
    assert_eq!(body["model"], "provider-model");
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "Say hello"})
    );
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["seed"], 7, "extra is passed through");
    assert!(!sent.body.contains(KEY));
}

#[tokio::test]
async fn anthropic_answers_with_its_own_headers_and_shape() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::text("Hi.", 11, 3));
    let (_runtime, plugin) = adapter("anthropic").await;
    let (result, _) = call(&plugin, &fake, json!({}), &request(None)).await;
    let answer = result.unwrap();
    assert_eq!(answer.text, "Hi.");
    assert_eq!(answer.finish_reason, "stop");
    assert_eq!(
        (answer.usage.input_tokens, answer.usage.output_tokens),
        (11, 3)
    );

    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let body = sent.json();
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Say hello"}])
    );
    assert_eq!(body["max_tokens"], 50);
}

#[tokio::test]
async fn a_model_without_a_key_sends_no_key_header() {
    let fake = FakeProvider::start().await.unwrap();
    let (_runtime, plugin) = adapter("openai-compat").await;
    let keyless = HttpPolicy::new(
        "ollama",
        rules(&[&fake.host_port()]),
        None,
        HttpTimeouts::default(),
    )
    .unwrap();
    let (result, _) = call_with(&plugin, &fake, json!({}), &request(None), keyless).await;
    assert_eq!(result.unwrap().text, "fake answer: Say hello");
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    assert!(!sent.headers.iter().any(|(_, v)| v.contains("weft.api_key")));
}

#[tokio::test]
async fn a_429_with_a_short_retry_after_is_waited_out() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::RateLimited {
        retry_after_secs: 1,
    });
    fake.push(Reply::text("after the wait", 1, 3));
    let (_runtime, plugin) = adapter("openai-compat").await;
    let (result, _) = call(&plugin, &fake, json!({}), &request(None)).await;
    assert_eq!(result.unwrap().text, "after the wait");
    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    let waited = sent[1].at.duration_since(sent[0].at);
    assert!(
        waited >= Duration::from_secs(1),
        "retried after only {waited:?}"
    );
}

#[tokio::test]
async fn a_429_asking_for_longer_than_the_cap_is_transient_and_says_when() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::RateLimited {
        retry_after_secs: 120,
    });
    let (_runtime, plugin) = adapter("anthropic").await;
    let config = json!({ "max_retry_wait_ms": 5000 });
    let (result, policy) = call(&plugin, &fake, config, &request(None)).await;
    let m = transient(result);
    assert!(m.contains("rate limited (429)"), "{m}");
    assert!(m.contains("retry after 120 s"), "{m}");
    assert_eq!(fake.request_count(), 1);
    // The host read the header too: the engine will not retry sooner.
    assert_eq!(policy.retry_after_ms(), Some(120_000));
}

#[tokio::test]
async fn a_500_and_malformed_json_are_transient() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::ServerError);
    fake.push(Reply::Malformed);
    let (_runtime, plugin) = adapter("openai-compat").await;
    let m = transient(call(&plugin, &fake, json!({}), &request(None)).await.0);
    assert!(m.contains("answered 500: The server had an error"), "{m}");
    let m = transient(call(&plugin, &fake, json!({}), &request(None)).await.0);
    assert!(m.contains("not valid JSON"), "{m}");
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_is_transient() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::Slow {
        delay: Duration::from_secs(30),
        then: Box::new(Reply::text("too late", 1, 1)),
    });
    let (_runtime, plugin) = adapter("anthropic").await;
    let quick = HttpTimeouts {
        first_byte: Duration::from_millis(300),
        ..HttpTimeouts::default()
    };
    let p = policy(&[&fake.host_port()], quick);
    let m = transient(
        call_with(&plugin, &fake, json!({}), &request(None), p)
            .await
            .0,
    );
    assert!(m.contains("did not come in time"), "{m}");
}

#[tokio::test]
async fn a_4xx_is_permanent_with_the_providers_message_and_never_the_key() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::ClientError {
        status: 401,
        message: "Incorrect API key provided: {key}".into(),
    });
    fake.push(Reply::ClientError {
        status: 400,
        message: "max_tokens: must be at most 8192 (key {key})".into(),
    });
    for name in ["openai-compat", "anthropic"] {
        let (_runtime, plugin) = adapter(name).await;
        let m = permanent(call(&plugin, &fake, json!({}), &request(None)).await.0);
        assert!(!m.contains(KEY), "{name} leaked the key: {m}");
        assert!(m.contains("[redacted]"), "{m}");
        if name == "openai-compat" {
            assert!(
                m.contains("answered 401: Incorrect API key provided"),
                "{m}"
            );
        } else {
            assert!(
                m.contains("answered 400: max_tokens: must be at most 8192"),
                "{m}"
            );
        }
    }
}

#[tokio::test]
async fn a_host_that_is_not_allowed_is_refused_by_name() {
    let fake = FakeProvider::start().await.unwrap();
    let (_runtime, plugin) = adapter("openai-compat").await;
    let p = policy(&["api.openai.com"], HttpTimeouts::default());
    let (result, p) = call_with(&plugin, &fake, json!({}), &request(None), p).await;
    let m = permanent(result);
    let host = fake.host_port();
    assert!(
        m.contains(&format!("the host refused the request to {host}")),
        "{m}"
    );
    assert_eq!(fake.request_count(), 0, "nothing reached the fake");
    let refusals = p.refusals();
    assert_eq!(refusals.len(), 1);
    assert!(refusals[0].contains(&host), "{refusals:?}");
    assert!(refusals[0].contains("listed literally"), "{refusals:?}");
}

#[tokio::test]
async fn a_redirect_to_another_host_is_refused_and_one_to_the_same_host_followed() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::Redirect {
        location: "/v1/chat/completions".into(),
    });
    fake.push(Reply::text("moved", 1, 1));
    let (_runtime, plugin) = adapter("openai-compat").await;
    let (result, _) = call(&plugin, &fake, json!({}), &request(None)).await;
    assert_eq!(result.unwrap().text, "moved");
    assert_eq!(fake.request_count(), 2);

    for (location, named) in [
        (
            "http://evil.example.com/v1/chat/completions",
            "evil.example.com:80",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "the cloud metadata address",
        ),
    ] {
        fake.push(Reply::Redirect {
            location: location.into(),
        });
        let (result, p) = call(&plugin, &fake, json!({}), &request(None)).await;
        let m = permanent(result);
        assert!(m.contains("the host refused the request"), "{m}");
        let refusals = p.refusals();
        assert!(refusals.iter().any(|r| r.contains(named)), "{refusals:?}");
    }
}

#[tokio::test]
async fn the_metadata_address_is_refused_even_as_an_endpoint() {
    let fake = FakeProvider::start().await.unwrap();
    let (_runtime, plugin) = adapter("anthropic").await;
    let config = json!({ "endpoint": "http://169.254.169.254/v1" });
    let (result, p) = call(&plugin, &fake, config, &request(None)).await;
    let m = permanent(result);
    assert!(m.contains("169.254.169.254"), "{m}");
    assert!(
        p.refusals()[0].contains("cloud metadata"),
        "{:?}",
        p.refusals()
    );
}

#[tokio::test]
async fn tool_calls_come_back_as_tool_json_in_both_protocols() {
    let fake = FakeProvider::start().await.unwrap();
    let tools = json!({ "tools": [{
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the docs",
            "parameters": { "type": "object", "properties": { "q": { "type": "string" } } }
        }
    }]});
    for name in ["openai-compat", "anthropic"] {
        fake.push(Reply::ToolCall {
            name: "search".into(),
            input: json!({ "q": "weft" }),
        });
        let (_runtime, plugin) = adapter(name).await;
        let (result, _) = call(&plugin, &fake, json!({}), &request(Some(tools.clone()))).await;
        let answer = result.unwrap();
        assert_eq!(answer.finish_reason, "tool-call", "{name}");
        let text: Value = serde_json::from_str(&answer.text).unwrap();
        assert_eq!(
            text,
            json!({ "tool": "search", "input": { "q": "weft" } }),
            "{name}"
        );
    }
    let sent = fake.requests();
    assert_eq!(
        sent[0].json()["tools"],
        tools["tools"],
        "OpenAI tools pass through"
    );
    assert_eq!(
        sent[1].json()["tools"],
        json!([{
            "name": "search",
            "description": "Search the docs",
            "input_schema": { "type": "object", "properties": { "q": { "type": "string" } } }
        }]),
        "Anthropic gets its own tool shape"
    );
}

#[tokio::test]
async fn a_request_the_adapter_cannot_express_is_invalid_input() {
    let fake = FakeProvider::start().await.unwrap();
    let (_runtime, plugin) = adapter("openai-compat").await;
    let mut req = request(None);
    req.extra = Some("[1, 2]".into());
    let (result, _) = call(&plugin, &fake, json!({}), &req).await;
    assert!(
        matches!(&result, Err(PluginError::InvalidInput(m)) if m.contains("extra: expected an object")),
        "{result:?}"
    );
    let (result, _) = call(
        &plugin,
        &fake,
        json!({ "endpoint": "ftp://x" }),
        &request(None),
    )
    .await;
    assert!(
        matches!(&result, Err(PluginError::InvalidInput(m)) if m.contains("config.endpoint")),
        "{result:?}"
    );
    assert_eq!(fake.request_count(), 0);
}
