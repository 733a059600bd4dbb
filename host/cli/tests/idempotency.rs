//! `weft run --idempotency-key`, driven through the real binary: the same key
//! and input twice give one run (the second call does not run the flow again);
//! the same key with another input is refused with an error naming the key.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{text, weft};
use serde_json::{Value, json};
use weft_tests::plugin_path;

/// A project with one flow, `greet`, of one echo step.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::copy(plugin_path("echo"), dir.join("plugins/echo.wasm")).unwrap();
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: idem\nplugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/greet.yaml"),
        "id: greet\ninputs:\n  name: { type: string, required: true }\nsteps:\n  hello: { uses: echo }\n",
    )
    .unwrap();
}

/// `weft run greet -i INPUT --idempotency-key KEY --state STATE --json`.
fn run(dir: &Path, input: &str, key: &str) -> Output {
    let state = dir.join("state").display().to_string();
    weft(
        dir,
        &[
            "run",
            "greet",
            "-i",
            input,
            "--idempotency-key",
            key,
            "--state",
            &state,
            "--json",
        ],
    )
}

/// `weft ARGS --state STATE --json`, parsed.
fn query(dir: &Path, args: &[&str]) -> String {
    let state = dir.join("state").display().to_string();
    let mut all = args.to_vec();
    all.extend(["--state", &state, "--json"]);
    let out = weft(dir, &all);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn the_same_key_and_input_give_the_same_run_without_running_it_again() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());

    let first = run(dir.path(), r#"{"name":"ada"}"#, "order-7");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let first_report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first_report["status"], "succeeded");
    assert_eq!(first_report["output"], json!({"name": "ada"}));
    assert!(text(&first.stderr).contains("step hello started"));
    let run_id = first_report["run_id"].as_str().unwrap().to_owned();

    let second = run(dir.path(), r#"{"name":"ada"}"#, "order-7");
    assert!(second.status.success(), "{}", text(&second.stderr));
    let second_report: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(second_report["run_id"], run_id.as_str());
    assert_eq!(second_report["output"], json!({"name": "ada"}));
    assert_eq!(second_report["ledger"]["verified"], true);
    // Nothing ran the second time.
    assert!(
        !text(&second.stderr).contains("step hello"),
        "{}",
        text(&second.stderr)
    );

    // One run in the store, whose ledger holds one execution of its step.
    let runs: Value = serde_json::from_str(&query(dir.path(), &["runs", "list"])).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["run_id"], run_id.as_str());
    let kinds: Vec<String> = query(dir.path(), &["runs", "tail", &run_id])
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "run-created",
            "step-started",
            "step-succeeded",
            "run-succeeded"
        ]
    );
}

#[test]
fn the_same_key_with_another_input_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());

    let first = run(dir.path(), r#"{"name":"ada"}"#, "order-7");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let first_report: Value = serde_json::from_slice(&first.stdout).unwrap();
    let run_id = first_report["run_id"].as_str().unwrap().to_owned();

    let other = run(dir.path(), r#"{"name":"grace"}"#, "order-7");
    assert_eq!(other.status.code(), Some(1), "{}", text(&other.stderr));
    assert!(other.stdout.is_empty(), "{}", text(&other.stdout));
    let stderr = text(&other.stderr);
    assert!(
        stderr.contains(&format!(
            "idempotency key `order-7` was already used for run {run_id} \
             with a different flow or input"
        )),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("idempotency key").count(),
        1,
        "said once: {stderr}"
    );
    // The refusal created no run.
    let runs: Value = serde_json::from_str(&query(dir.path(), &["runs", "list"])).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
}

/// weft.yaml's `idempotency: { ttl: … }` is how long a key names its run:
/// with `1s`, the same key a while after the first run makes a new run.
#[test]
fn the_key_lives_as_long_as_weft_yaml_says() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let yaml = dir.path().join("weft.yaml");
    let source = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, format!("{source}idempotency: {{ ttl: 1s }}\n")).unwrap();

    let first = run(dir.path(), r#"{"name":"ada"}"#, "order-7");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let first: Value = serde_json::from_slice(&first.stdout).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let second = run(dir.path(), r#"{"name":"ada"}"#, "order-7");
    assert!(second.status.success(), "{}", text(&second.stderr));
    let second: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_ne!(
        second["run_id"], first["run_id"],
        "the key ran out after 1 s"
    );
    assert_eq!(second["status"], "succeeded");
}

/// A bad `idempotency.ttl` stops the command with the file and line.
#[test]
fn a_bad_ttl_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let yaml = dir.path().join("weft.yaml");
    let source = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, format!("{source}idempotency:\n  ttl: 1 day\n")).unwrap();
    let out = run(dir.path(), r#"{"name":"ada"}"#, "order-7");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("weft.yaml:5:8"), "{stderr}");
    assert!(
        stderr.contains("invalid duration `1 day` for `idempotency.ttl`"),
        "{stderr}"
    );
}
