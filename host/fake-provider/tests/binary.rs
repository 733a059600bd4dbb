//! The `weft-fake-provider` binary, as a user runs it: on a free loopback port,
//! one protocol each, with a script file. Real HTTP requests get the scripted
//! 429 (with `retry-after`), the scripted answer, a delayed answer, then the
//! plain answer; the other protocol's endpoint is a 404; SIGTERM ends it with
//! exit 0. A bad script is refused with its file and line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SCRIPT: &str = "\
# a 429 first, then an answer, then a slow answer
{\"status\": 429, \"retry_after\": 7}
{\"text\": \"scripted hello\", \"input_tokens\": 4, \"output_tokens\": 2}
{\"text\": \"late\", \"delay_ms\": 400}
";

struct Fake {
    child: Child,
    url: String,
}

impl Fake {
    fn start(protocol: &str, script: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft-fake-provider"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--protocol",
                protocol,
                "--script",
            ])
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("weft-fake-provider listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// SIGTERM; the exit status (within 10 s) and what it wrote on stderr.
    fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST url` with `body` and `headers`: status, `retry-after`, JSON body.
fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Option<String>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send_json(body).unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.body_mut().read_to_string().unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, retry_after, json)
}

#[test]
fn openai_requests_get_the_script_then_plain_answers_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("answers.jsonl");
    std::fs::write(&script, SCRIPT).unwrap();
    let fake = Fake::start("openai", &script);
    let url = format!("{}/v1/chat/completions", fake.url);
    let auth = [("authorization", "Bearer sk-test")];
    let body =
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi there"}]});

    let (status, retry_after, error) = post(&url, &auth, &body);
    assert_eq!(status, 429, "{error}");
    assert_eq!(retry_after.as_deref(), Some("7"));
    assert_eq!(error["error"]["type"], "rate_limit_error");

    let (status, _, answer) = post(&url, &auth, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "scripted hello");
    assert_eq!(answer["usage"]["prompt_tokens"], 4);
    assert_eq!(answer["usage"]["completion_tokens"], 2);
    assert_eq!(answer["model"], "gpt-4o-mini");

    let asked = Instant::now();
    let (status, _, answer) = post(&url, &auth, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "late");
    assert!(
        asked.elapsed() >= Duration::from_millis(400),
        "{:?}",
        asked.elapsed()
    );

    // The script is used up: plain answers.
    let (status, _, answer) = post(&url, &auth, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "fake answer: hi there"
    );

    // Only the protocol it was started with.
    let (status, _, _) = post(&format!("{}/v1/messages", fake.url), &[], &body);
    assert_eq!(status, 404);

    let (status, stderr) = fake.stop();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(
        stderr.contains("POST /v1/chat/completions -> 429 Too Many Requests (retry-after 7)"),
        "{stderr}"
    );
    assert!(stderr.contains("weft-fake-provider: stopped"), "{stderr}");
}

#[test]
fn anthropic_requests_get_the_script_too() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("answers.jsonl");
    std::fs::write(&script, SCRIPT).unwrap();
    let fake = Fake::start("anthropic", &script);
    let url = format!("{}/v1/messages", fake.url);
    let headers = [
        ("x-api-key", "sk-ant-test"),
        ("anthropic-version", "2023-06-01"),
    ];
    let body = json!({
        "model": "claude-test", "max_tokens": 100,
        "messages": [{"role": "user", "content": "hello"}],
    });

    let (status, retry_after, error) = post(&url, &headers, &body);
    assert_eq!(status, 429, "{error}");
    assert_eq!(retry_after.as_deref(), Some("7"));
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "rate_limit_error");

    let (status, _, answer) = post(&url, &headers, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["content"][0]["text"], "scripted hello");
    assert_eq!(answer["usage"]["input_tokens"], 4);
    assert_eq!(answer["usage"]["output_tokens"], 2);

    // A request the real API refuses is refused here too.
    let (status, _, error) = post(&url, &headers[..1], &body);
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anthropic-version")
    );

    let (status, _, _) = post(&format!("{}/v1/chat/completions", fake.url), &[], &body);
    assert_eq!(status, 404);

    let (status, stderr) = fake.stop();
    assert!(status.success(), "{status:?}\n{stderr}");
}

#[test]
fn a_bad_script_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("answers.jsonl");
    std::fs::write(
        &script,
        "{\"text\": \"ok\"}\n\n{\"status\": 429, \"retry_afer\": 2}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_weft-fake-provider"))
        .args(["--listen", "127.0.0.1:0", "--script"])
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3: unknown key `retry_afer`", script.display())),
        "{stderr}"
    );
}
