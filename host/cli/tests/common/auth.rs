//! Helpers of the API-token tests: a project with tokens of every role, HTTP
//! calls with a chosen `Authorization` header, and the `weft` binary with a
//! chosen `WEFT_TOKEN`. Included with `#[path]` next to `common/daemon.rs`
//! (as `daemon_support`).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use weft_tests::component_cache_dir;

use crate::daemon_support::write_project;

pub const ACME: &str = "weft_test-token-of-acme-ci";
pub const GLOBEX: &str = "weft_test-token-of-globex-ci";
pub const ADMIN: &str = "weft_test-token-of-admin-ops";
pub const WORKER: &str = "weft_test-token-of-worker-k8s";

pub fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The test project, with a tenant token for `acme` and `globex`, an admin and
/// a worker token.
pub fn write_project_with_tokens(dir: &Path) {
    write_project(dir);
    let tokens = format!(
        "tenants:\n  acme:\n    tokens:\n      - {{ name: ci, sha256: \"{}\" }}\n  globex:\n    tokens: [ {{ name: ci, sha256: \"{}\" }} ]\nauth:\n  admin_tokens: [ {{ name: ops, sha256: \"{}\" }} ]\n  worker_tokens: [ {{ name: k8s, sha256: \"{}\" }} ]\n",
        sha256_hex(ACME),
        sha256_hex(GLOBEX),
        sha256_hex(ADMIN),
        sha256_hex(WORKER),
    );
    append_to_weft_yaml(dir, &tokens);
}

pub fn append_to_weft_yaml(dir: &Path, text: &str) {
    let path = dir.join("weft.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str(text);
    std::fs::write(&path, yaml).unwrap();
}

/// What a request carries in its `Authorization` header.
#[derive(Clone, Copy, Debug)]
pub enum Cred<'a> {
    /// No header.
    None,
    /// This header value, as is.
    Header(&'a str),
    /// `Bearer <token>`.
    Token(&'a str),
}

/// An answer: status, `WWW-Authenticate`, body (JSON, or a string for text).
pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub body: Value,
}

pub fn call(url: &str, method: &str, path: &str, cred: Cred<'_>, body: Option<Value>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let target = format!("{url}{path}");
    let header = match cred {
        Cred::None => None,
        Cred::Header(h) => Some(h.to_owned()),
        Cred::Token(t) => Some(format!("Bearer {t}")),
    };
    let mut response = match method {
        "GET" | "DELETE" => {
            let mut r = if method == "GET" {
                agent.get(&target)
            } else {
                agent.delete(&target)
            };
            if let Some(h) = &header {
                r = r.header("Authorization", h);
            }
            r.call().unwrap()
        }
        "POST" => {
            let mut r = agent.post(&target);
            if let Some(h) = &header {
                r = r.header("Authorization", h);
            }
            match body {
                Some(b) => r.send_json(b).unwrap(),
                None => r.send_empty().unwrap(),
            }
        }
        other => panic!("unsupported method {other}"),
    };
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        challenge,
        body,
    }
}

pub fn submit(url: &str, token: &str, n: i64, key: Option<&str>) -> (u16, Value) {
    let mut body = json!({"flow": "chain", "input": {"n": n}});
    if let Some(key) = key {
        body["idempotency_key"] = json!(key);
    }
    let a = call(url, "POST", "/v1/runs", Cred::Token(token), Some(body));
    (a.status, a.body)
}

/// Runs `weft ARGS` in `dir` with `WEFT_TOKEN` set to `token` (or unset).
pub fn weft(dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env_remove("WEFT_DAEMON")
        .env_remove("WEFT_TOKEN")
        .current_dir(dir);
    if let Some(token) = token {
        command.env("WEFT_TOKEN", token);
    }
    command.output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
