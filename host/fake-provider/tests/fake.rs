//! The fake provider over real HTTP: both protocols' shapes, scripted
//! failures, and the in-flight count a concurrency test relies on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use serde_json::{Value, json};
use weft_fake_provider::{FakeProvider, Reply};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs `body` to `url` with `headers`: (status, retry-after, body).
fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Option<String>, Value) {
    let mut req = agent().post(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let mut resp = req.send(body.to_string()).unwrap();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.body_mut().read_to_string().unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (resp.status().as_u16(), retry, json)
}

fn openai_body() -> Value {
    json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi there"}]})
}

fn anthropic_body() -> Value {
    json!({"model": "claude-test", "max_tokens": 64,
           "messages": [{"role": "user", "content": "hi there"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_protocols_answer_in_their_own_shape_with_usage() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::text("one", 7, 3));
    fake.push(Reply::text("two", 5, 2));
    let base = fake.base_url();
    let (openai, anthropic) = tokio::task::spawn_blocking(move || {
        let o = post(
            &format!("{base}/chat/completions"),
            &[("authorization", "Bearer k1")],
            &openai_body(),
        );
        let a = post(
            &format!("{base}/messages"),
            &[("x-api-key", "k2"), ("anthropic-version", "2023-06-01")],
            &anthropic_body(),
        );
        (o, a)
    })
    .await
    .unwrap();
    assert_eq!(openai.0, 200, "{}", openai.2);
    assert_eq!(openai.2["choices"][0]["message"]["content"], "one");
    assert_eq!(openai.2["usage"]["prompt_tokens"], 7);
    assert_eq!(openai.2["usage"]["completion_tokens"], 3);
    assert_eq!(anthropic.0, 200, "{}", anthropic.2);
    assert_eq!(anthropic.2["content"][0]["text"], "two");
    assert_eq!(anthropic.2["usage"]["input_tokens"], 5);
    assert_eq!(anthropic.2["usage"]["output_tokens"], 2);
    let sent = fake.requests();
    assert_eq!(sent[0].header("authorization"), Some("Bearer k1"));
    assert_eq!(sent[1].header("x-api-key"), Some("k2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_failures_look_like_the_real_ones() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::RateLimited {
        retry_after_secs: 17,
    });
    fake.push(Reply::ServerError);
    fake.push(Reply::Malformed);
    let base = fake.base_url();
    let (limited, failed, malformed, no_version) = tokio::task::spawn_blocking(move || {
        let url = format!("{base}/messages");
        let h = [("x-api-key", "k"), ("anthropic-version", "2023-06-01")];
        (
            post(&url, &h, &anthropic_body()),
            post(&url, &h, &anthropic_body()),
            post(&url, &h, &anthropic_body()),
            post(&url, &[("x-api-key", "k")], &anthropic_body()),
        )
    })
    .await
    .unwrap();
    assert_eq!(limited.0, 429);
    assert_eq!(limited.1.as_deref(), Some("17"));
    assert_eq!(limited.2["error"]["type"], "rate_limit_error");
    assert_eq!(failed.0, 500);
    assert_eq!(malformed.0, 200);
    assert!(malformed.2.is_string(), "not JSON: {}", malformed.2);
    assert_eq!(no_version.0, 400, "the real API wants anthropic-version");
    assert!(
        no_version.2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anthropic-version")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn held_requests_are_counted_in_flight_until_released() {
    let fake = FakeProvider::start().await.unwrap();
    fake.hold();
    let url = format!("{}/chat/completions", fake.base_url());
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            tokio::task::spawn_blocking(move || post(&url, &[], &openai_body()))
        })
        .collect();
    fake.wait_for(3).await;
    fake.wait_in_flight(3).await;
    assert!(
        calls.iter().all(|c| !c.is_finished()),
        "a held request was answered"
    );
    fake.release();
    for call in calls {
        assert_eq!(call.await.unwrap().0, 200);
    }
    fake.wait_in_flight(0).await;
    assert_eq!(fake.max_in_flight(), 3);
}
