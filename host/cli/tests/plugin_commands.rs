//! `weft plugin inspect` and `weft plugin run`, driven through the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::process::Output;

use serde_json::{Value, json};
use weft_tests::{plugin_path, repo_root};

/// `weft ARGS`, run from the repository root.
fn run(args: &[&str]) -> Output {
    common::weft(&repo_root(), args)
}

fn stdout(o: &Output) -> String {
    common::text(&o.stdout)
}

fn stderr(o: &Output) -> String {
    common::text(&o.stderr)
}

fn path(name: &str) -> String {
    plugin_path(name).display().to_string()
}

#[test]
fn inspect_reports_the_world_of_every_reference_plugin() {
    let expected = [
        ("echo", "step-plugin"),
        ("json-transform", "step-plugin"),
        ("prompt", "step-plugin"),
        ("text-stats", "step-plugin"),
        ("reshape", "step-plugin"),
        ("mock-model", "model-plugin"),
        ("exp-backoff", "retry-plugin"),
        ("priority-fifo", "pool-plugin"),
        ("fair-share", "pool-plugin"),
    ];
    for (name, world) in expected {
        let out = run(&["plugin", "inspect", "--json", &path(name)]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(report["world"], json!(world), "{name}: {report}");
        let sha = report["sha256"].as_str().unwrap();
        assert_eq!(sha.len(), 64, "{name}: {report}");
        assert_eq!(
            report["size"].as_u64().unwrap(),
            std::fs::metadata(plugin_path(name)).unwrap().len()
        );
        let export = format!(
            "weft:plugin/{}@0.1.0",
            match world {
                "step-plugin" => "step",
                "model-plugin" => "model-adapter",
                "retry-plugin" => "retry-strategy",
                _ => "pool-policy",
            }
        );
        assert!(
            report["exports"]
                .as_array()
                .unwrap()
                .contains(&json!(export)),
            "{report}"
        );
        let satisfied: Vec<_> = report["worlds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["satisfied"] == json!(true))
            .collect();
        assert_eq!(satisfied.len(), 1, "{name}: {report}");
    }
}

#[test]
fn inspect_prints_a_readable_report() {
    let out = run(&["plugin", "inspect", &path("prompt")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("world:   step-plugin (weft:plugin@0.1.0)"),
        "{text}"
    );
    assert!(
        text.contains("weft:plugin/host@0.1.0"),
        "imports are listed: {text}"
    );
    assert!(text.contains("sha256:"), "{text}");
}

#[test]
fn inspect_refuses_the_wrong_world_with_the_reason() {
    let out = run(&["plugin", "inspect", &path("hostile-wrong-world")]);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("world:   none"), "{text}");
    assert!(
        text.contains("not with the signature of weft:plugin@0.1.0"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("satisfies no weft world"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn inspect_refuses_non_components_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core.wasm");
    let wat = std::fs::read_to_string(repo_root().join("plugins/tests/core-module.wat")).unwrap();
    std::fs::write(&core, wat::parse_str(&wat).unwrap()).unwrap();
    let out = run(&["plugin", "inspect", core.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("core WebAssembly module, not a component"),
        "{}",
        stderr(&out)
    );

    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"#!/bin/sh\necho not wasm\n").unwrap();
    let out = run(&["plugin", "inspect", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a WebAssembly file"),
        "{}",
        stderr(&out)
    );

    let out = run(&["plugin", "inspect", "no/such/file.wasm"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("could not read no/such/file.wasm"),
        "{}",
        stderr(&out)
    );
}

fn run_json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn run_calls_the_rust_python_and_javascript_steps() {
    let echo = run_json(&["plugin", "run", &path("echo"), "-i", r#"{"x":[1,2]}"#]);
    assert_eq!(echo, json!({"x": [1, 2]}));

    let stats = run_json(&[
        "plugin",
        "run",
        &path("text-stats"),
        "-i",
        r#"{"text":"One two. Three!"}"#,
    ]);
    assert_eq!(stats["words"], json!(3));
    assert_eq!(stats["sentences"], json!(2));

    let groups = run_json(&[
        "plugin",
        "run",
        &path("reshape"),
        "-i",
        r#"{"items":[{"k":"x","v":1},{"k":"x","v":2}]}"#,
        "-c",
        r#"{"group_by":"k","sum":["v"]}"#,
    ]);
    assert_eq!(groups["groups"][0]["v"], json!(3));
}

#[test]
fn run_serves_model_calls_with_the_built_in_mock_model() {
    let args = [
        "plugin",
        "run",
        &path("prompt"),
        "-i",
        r#"{"topic":"refunds"}"#,
        "-c",
        r#"{"model":"mock","template":"Write about {{topic}}"}"#,
        "--json",
    ];
    let a = run_json(&args);
    let b = run_json(&args);
    assert_eq!(a["output"], b["output"], "deterministic");
    assert!(
        a["output"]["text"].as_str().unwrap().contains("refunds"),
        "{a}"
    );
    assert!(
        a["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["plugin"] == json!("prompt")),
        "{a}"
    );

    // --model names another adapter: a step plugin is not one.
    let out = run(&[
        "plugin",
        "run",
        &path("prompt"),
        "-c",
        r#"{"model":"m","template":"x"}"#,
        "--model",
        &path("echo"),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a usable model adapter"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_calls_retry_and_pool_plugins_with_a_sample() {
    let decision = run_json(&["plugin", "run", &path("exp-backoff")]);
    assert!(decision.get("retry-after").is_some(), "{decision}");
    let chosen = run_json(&["plugin", "run", &path("priority-fifo")]);
    assert_eq!(chosen, json!(["t2", "t1"]));
}

#[test]
fn run_reports_a_hostile_plugin_and_exits_non_zero() {
    let out = run(&["plugin", "run", &path("hostile-loop"), "--timeout", "200ms"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("plugin `hostile-loop` failed"), "{err}");
    assert!(err.contains("exceeded its 200ms deadline"), "{err}");

    let out = run(&[
        "plugin",
        "run",
        &path("hostile-memory"),
        "--memory",
        "32MiB",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("memory cap of 32 MiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_explains_bad_arguments() {
    let out = run(&["plugin", "run", &path("echo"), "-i", "{not json"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--input is not valid JSON"),
        "{}",
        stderr(&out)
    );

    let out = run(&["plugin", "run", &path("echo"), "--timeout", "soon"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a duration"), "{}", stderr(&out));

    let out = run(&[
        "plugin",
        "run",
        &path("exp-backoff"),
        "-i",
        r#"{"attempt":1}"#,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--input is not an attempt"),
        "{}",
        stderr(&out)
    );
}
