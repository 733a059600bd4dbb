//! `weft run` of a flow whose model is served by the real `openai-compat`
//! adapter at a fake provider on loopback, with the API key in the
//! environment variable the model names: the provider gets the key, and it
//! appears nowhere else: not in the output, not in the debug log, not in the
//! ledger, not anywhere in the redb file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;

use common::{text, weft};
use serde_json::Value;
use weft_fake_provider::{FakeProvider, Reply};

const KEY: &str = "sk-live-7b1e0c55d2-DO-NOT-LEAK";

fn write_project(dir: &Path, fake: &FakeProvider) {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["prompt", "openai-compat"] {
        std::fs::copy(
            weft_tests::plugin_path(name),
            plugins.join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    let yaml = format!(
        r#"id_prefix: keytest
plugins:
  prompt: {{ path: plugins/prompt.wasm, kind: step }}
  openai-compat: {{ path: plugins/openai-compat.wasm, kind: model }}
models:
  gpt:
    adapter: openai-compat
    config: {{ endpoint: "{}", model: gpt-test }}
    allowed_hosts: ["{}"]
    api_key_env: WEFT_TEST_PROVIDER_KEY
"#,
        fake.base_url(),
        fake.host_port()
    );
    std::fs::write(dir.join("weft.yaml"), yaml).unwrap();
    let flow = r#"id: ask
inputs:
  q: { type: string, required: true }
steps:
  ask:
    uses: prompt
    model: gpt
    with: { template: "Answer: {{q}}" }
"#;
    std::fs::write(dir.join("flows/ask.yaml"), flow).unwrap();
}

/// `weft ARGS` with the key in the environment and the debug log on.
fn weft_with_key(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_COMPONENT_CACHE", weft_tests::component_cache_dir())
        .env("WEFT_TEST_PROVIDER_KEY", KEY)
        .env("WEFT_LOG", "debug")
        .current_dir(dir)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_reaches_the_provider_and_nothing_else() {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Reply::text("forty-two", 4, 1));
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), &fake);

    let root = dir.path().to_owned();
    let run = tokio::task::spawn_blocking(move || {
        weft_with_key(
            &root,
            &["run", "ask", "-i", r#"{"q":"six times seven"}"#, "--json"],
        )
    })
    .await
    .unwrap();
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["output"]["text"], "forty-two", "{stdout}");
    let run_id = report["run_id"].as_str().unwrap().to_owned();

    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    let auth = format!("Bearer {KEY}");
    assert_eq!(sent[0].header("authorization"), Some(auth.as_str()));
    assert!(!sent[0].body.contains(KEY));

    assert!(!stdout.contains(KEY), "the output has the key");
    assert!(!stderr.contains(KEY), "the log has the key:\n{stderr}");
    let root = dir.path().to_owned();
    let tail =
        tokio::task::spawn_blocking(move || weft(&root, &["runs", "tail", &run_id, "--json"]))
            .await
            .unwrap();
    assert!(tail.status.success(), "{}", text(&tail.stderr));
    let ledger = text(&tail.stdout);
    assert!(ledger.contains("model-call-journaled"), "{ledger}");
    assert!(!ledger.contains(KEY), "the ledger has the key");
    let db = std::fs::read(dir.path().join(".weft/weft.redb")).unwrap();
    assert!(
        !db.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
        "the store file has the key"
    );
}
