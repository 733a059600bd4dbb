//! `weft dlq ls|requeue|purge` and `weft runs resume`, driven through the real
//! binary in a small project whose model fails for good.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{text, weft};
use std::path::Path;

use serde_json::Value;
use weft_tests::plugin_path;

/// weft.yaml of the test project; `model_config` is the `flaky` model's config.
fn write_project(dir: &Path, model_config: &str) {
    std::fs::write(
        dir.join("weft.yaml"),
        format!(
            "id_prefix: dlq\nplugins:\n  prompt: {{ path: plugins/prompt.wasm, kind: step }}\n  \
             mock-model: {{ path: plugins/mock-model.wasm, kind: model }}\n  \
             exp-backoff: {{ path: plugins/exp-backoff.wasm, kind: retry }}\n\
             models:\n  flaky: {{ adapter: mock-model, config: {model_config} }}\n\
             defaults:\n  retry: {{ strategy: exp-backoff, max_attempts: 3 }}\n"
        ),
    )
    .unwrap();
}

/// A project whose one step dead-letters; returns (run id, task id).
fn dead_lettered(dir: &Path) -> (String, u64) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["prompt", "mock-model", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    write_project(dir, r#"{ fail: permanent }"#);
    std::fs::write(
        dir.join("flows/ask.yaml"),
        "id: ask\nsteps:\n  ask:\n    uses: prompt\n    model: flaky\n    with:\n      template: Say hi.\n",
    )
    .unwrap();
    let out = weft(dir, &["run", "ask", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "dead-lettered");
    let run = report["run_id"].as_str().unwrap().to_owned();

    // The project's own state folder (.weft/) is found without --state.
    let out = weft(dir, &["dlq", "ls", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dead: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["run_id"], run.as_str());
    assert_eq!(dead[0]["step"], "ask");
    assert!(
        dead[0]["reason"].as_str().unwrap().contains("permanent"),
        "{dead:?}"
    );
    (run, dead[0]["task"].as_u64().unwrap())
}

fn dlq_len(dir: &Path) -> usize {
    let out = weft(dir, &["dlq", "ls", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn a_requeued_task_runs_again_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (run, task) = dead_lettered(dir.path());
    let task = task.to_string();

    let out = weft(dir.path(), &["dlq", "ls"]);
    let table = text(&out.stdout);
    assert!(
        table.lines().any(|l| l.contains(&run) && l.contains("ask")),
        "{table}"
    );

    let out = weft(dir.path(), &["runs", "status", &run, "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["tasks"][0]["state"], "dead");
    assert!(
        status["tasks"][0]["error"]
            .as_str()
            .unwrap()
            .contains("permanent")
    );

    // Fix the model, requeue the task, resume the run.
    write_project(dir.path(), "{}");
    let out = weft(dir.path(), &["dlq", "requeue", &task]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("weft runs resume {run}")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(dlq_len(dir.path()), 0);

    let out = weft(dir.path(), &["runs", "resume", &run, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["ledger"]["verified"], true);
    assert!(report["output"]["text"].is_string(), "{report}");

    let out = weft(dir.path(), &["runs", "status", &run, "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["tasks"][0]["state"], "done");
    assert_eq!(status["tasks"][0]["attempt"], 2);
}

#[test]
fn purge_needs_yes_and_then_drops_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let (run, task) = dead_lettered(dir.path());
    let task = task.to_string();

    let out = weft(dir.path(), &["dlq", "purge", &task]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("weft dlq purge {task} --yes")),
        "{err}"
    );
    assert_eq!(dlq_len(dir.path()), 1, "a refused purge changes nothing");

    let out = weft(dir.path(), &["dlq", "purge", &task, "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(dlq_len(dir.path()), 0);
    let out = weft(dir.path(), &["runs", "tail", &run, "--json"]);
    assert!(
        text(&out.stdout).contains("\"type\":\"task-purged\""),
        "{}",
        text(&out.stdout)
    );
    // The run does not stay `running` for ever: the purge failed it.
    let out = weft(dir.path(), &["runs", "status", &run, "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("purged from the dead-letter queue"),
        "{status}"
    );

    let out = weft(dir.path(), &["dlq", "requeue", &task]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("no dead-lettered task `{task}`")),
        "{err}"
    );
}

/// A purge on the state folder ends the run the way a daemon's does
/// (`Engine::dlq_purge`): the run fails in the purge's commit and its ledger
/// head is signed with weft.yaml's key, so `weft runs verify --public-key`
/// finds the head signed, not an unsigned tail.
#[test]
fn a_purge_that_ends_a_run_signs_its_ledger_head() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (run, task) = dead_lettered(d);
    let out = weft(d, &["ledger", "keygen", "--out", "ledger.key"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut yaml = std::fs::read_to_string(d.join("weft.yaml")).unwrap();
    yaml.push_str("ledger: { signing_key: ledger.key }\n");
    std::fs::write(d.join("weft.yaml"), yaml).unwrap();

    let out = weft(d, &["dlq", "purge", &task.to_string(), "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = weft(d, &["runs", "status", &run, "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "failed", "{status}");

    let verify = [
        "runs",
        "verify",
        &run,
        "--public-key",
        "ledger.key.pub",
        "--json",
    ];
    let out = weft(d, &verify);
    let verdict: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", text(&out.stderr)));
    assert!(out.status.success(), "{verdict}");
    assert_eq!(verdict["signature"]["state"], "signed", "{verdict}");
    assert_eq!(verdict["signature"]["signed_seq"], verdict["events"]);
}

/// A weft.yaml that is there but does not load stops a local purge with its
/// error, at its line: the purge does not go on without the project's signing
/// key and pools, and the dead letter stays.
#[test]
fn a_purge_with_a_broken_weft_yaml_says_where_and_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, task) = dead_lettered(d);
    let mut yaml = std::fs::read_to_string(d.join("weft.yaml")).unwrap();
    yaml.push_str("ledger: { signing_kye: ledger.key }\n");
    std::fs::write(d.join("weft.yaml"), yaml).unwrap();

    let purge = [
        "dlq",
        "purge",
        &task.to_string(),
        "--yes",
        "--state",
        ".weft",
    ];
    let out = weft(d, &purge);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("weft.yaml:10:11"), "{err}");
    assert!(err.contains("signing_kye"), "{err}");
    assert!(
        err.starts_with("error") && !err.contains("error: error"),
        "{err}"
    );
    let dead = weft(d, &["dlq", "ls", "--json", "--state", ".weft"]);
    assert!(dead.status.success(), "{}", text(&dead.stderr));
    let dead: Value = serde_json::from_slice(&dead.stdout).unwrap();
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
}
