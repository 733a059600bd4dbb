//! `weft run` and `weft validate`, driven through the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{text, weft};

use serde_json::Value;
use weft_tests::{plugin_path, repo_root};

#[test]
fn run_support_triage_succeeds_with_a_verified_ledger() {
    let state = tempfile::tempdir().unwrap();
    let state_arg = state.path().display().to_string();
    let input = r#"{"ticket":{"id":7,"customer":"ada","body":"Login fails."}}"#;
    let out = weft(
        &repo_root().join("flows"),
        &[
            "run",
            "support-triage",
            "-i",
            input,
            "--state",
            &state_arg,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["ledger"]["verified"], true);
    assert_eq!(report["output"]["audit"]["ticket_id"], 7);
    assert!(report["run_id"].as_str().unwrap().starts_with("demo-"));
    // Progress went to stderr as plain lines (stderr is not a terminal here).
    assert!(text(&out.stderr).contains("step report succeeded"));

    // The same idempotency key twice names one run.
    let again = |key: &str| {
        let out = weft(
            &repo_root(),
            &[
                "run",
                "support-triage",
                "-i",
                input,
                "--state",
                &state_arg,
                "--json",
                "--idempotency-key",
                key,
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["run_id"].clone()
    };
    assert_eq!(again("k1"), again("k1"));
}

#[test]
fn run_with_bad_input_fails_and_says_why() {
    let state = tempfile::tempdir().unwrap();
    let state_arg = state.path().display().to_string();
    let out = weft(
        &repo_root(),
        &[
            "run",
            "support-triage",
            "-i",
            r#"{"team":"x"}"#,
            "--state",
            &state_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ticket"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validate_accepts_the_example_project() {
    let out = weft(&repo_root(), &["validate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok: support-triage"));
}

#[test]
fn validate_reports_a_plugin_of_the_wrong_kind_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::copy(plugin_path("echo"), dir.path().join("plugins/echo.wasm")).unwrap();
    // `backoff` claims to be a retry plugin, but its file is a step component.
    std::fs::copy(plugin_path("echo"), dir.path().join("plugins/backoff.wasm")).unwrap();
    std::fs::write(
        dir.path().join("weft.yaml"),
        "id_prefix: t\nplugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n  backoff: { path: plugins/backoff.wasm, kind: retry }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("flows/f.yaml"),
        "id: f\nsteps:\n  a:\n    uses: echo\n    retry: { strategy: backoff }\n",
    )
    .unwrap();
    let out = weft(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("plugin `backoff` is a step plugin"), "{err}");
    assert!(err.contains("f.yaml:5:"), "{err}");
    assert!(err.contains("1 error found"), "{err}");
}
