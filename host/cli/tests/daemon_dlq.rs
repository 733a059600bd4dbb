//! `weft dlq requeue|purge`, `weft runs resume` and `weft runs artifacts`
//! through a real `weft daemon`: a step that fails its first attempt is
//! dead-lettered (one attempt allowed); requeued, the daemon runs it again and
//! it succeeds; purged, it stays dead and its run fails. Artifacts written into the store are
//! served after a restart of the daemon.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use weft_store_api::prelude::*;
use weft_store_redb::RedbStore;

use serde_json::{Value, json};
use weft_store_api::Store;
use weft_tests::plugin_path;

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, wait_for_run, weft_via};
use output::{json_ok, stderr, stdout};

/// A project whose flow `flaky` fails its first attempt (transiently) and
/// succeeds from the second; the retry strategy allows one attempt, so the
/// first failure dead-letters the task.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["flaky-step", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: dlq\nplugins:\n  flaky-step: { path: plugins/flaky-step.wasm, kind: step }\n  \
         exp-backoff: { path: plugins/exp-backoff.wasm, kind: retry }\n\
         defaults:\n  retry: { strategy: exp-backoff, max_attempts: 1 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/flaky.yaml"),
        "id: flaky\nsteps:\n  try: { uses: flaky-step, with: { succeed_on_attempt: 2 } }\n",
    )
    .unwrap();
}

/// Submits a run of `flaky` and waits until its task is dead-lettered; returns
/// the run id and the task id.
fn dead_lettered_run(d: &Path, url: &str) -> (String, u64) {
    let run = stdout(&weft_via(d, url, &["enqueue", "flaky"]))
        .trim()
        .to_owned();
    wait_for_run(url, &run, |page| page["open_tasks"] == 0);
    let dead = json_ok(&weft_via(d, url, &["dlq", "ls", "--json"]));
    let letter = dead
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["run_id"] == run.as_str())
        .unwrap_or_else(|| panic!("{run} is not dead-lettered: {dead}"));
    assert!(
        letter["reason"]
            .as_str()
            .unwrap()
            .contains("gave up after 1 attempts"),
        "{letter}"
    );
    (run, letter["task"].as_u64().unwrap())
}

#[test]
fn requeue_resume_purge_and_artifacts_through_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start(d);
    let url = daemon.url.clone();
    let weft = |args: &[&str]| weft_via(d, &url, args);

    let (fixed, fixed_task) = dead_lettered_run(d, &url);
    let (dropped, dropped_task) = dead_lettered_run(d, &url);

    // Requeue: the daemon runs the task again; resume follows the run to its end.
    let out = weft(&["dlq", "requeue", &fixed_task.to_string()]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("the daemon runs it again"), "{out:?}");
    let out = weft(&["runs", "resume", &fixed, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(report["output"]["attempt"], 2, "{report}");
    assert_eq!(report["ledger"]["verified"], true, "{report}");
    assert_eq!(report["dead_letters"], json!([]), "{report}");
    let status = json_ok(&weft(&["runs", "status", &fixed, "--json"]));
    assert_eq!(status["tasks"][0]["state"], "done", "{status}");
    assert_eq!(status["tasks"][0]["attempt"], 2, "{status}");
    // Text: the output on stdout, the verdict on stderr.
    let out = weft(&["runs", "resume", &fixed]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("\"attempt\": 2"), "{out:?}");
    assert!(
        stderr(&out).contains(&format!("run {fixed} succeeded; ledger verified")),
        "{out:?}"
    );

    // Purge needs --yes, then drops the dead letter for good.
    let out = weft(&["dlq", "purge", &dropped_task.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr(&out).contains("--yes"), "{out:?}");
    let out = weft(&["dlq", "purge", &dropped_task.to_string(), "--yes", "--json"]);
    assert_eq!(json_ok(&out)["purged"], true);
    assert_eq!(json_ok(&weft(&["dlq", "ls", "--json"])), json!([]));
    let out = weft(&["runs", "tail", &dropped, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let kinds: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    // Its step will never have an output: the purge failed the run.
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["task-purged", "run-failed"],
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k == "step-dead-lettered"), "{kinds:?}");
    // Resume reports the failed run at once, exit 1.
    let out = weft(&["runs", "resume", &dropped, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "failed", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("purged"),
        "{report}"
    );
    let err = stderr(&weft(&["dlq", "requeue", &dropped_task.to_string()]));
    assert!(
        err.contains(&format!("no dead-lettered task `{dropped_task}`")),
        "{err}"
    );

    // Artifacts: write two into the store while the daemon is down.
    assert!(daemon.stop().success());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = RedbStore::open(d.join("state/weft.redb")).unwrap();
        store
            .artifact_put(&fixed, "report", json!({"pages": 3}), 1)
            .await
            .unwrap();
        store
            .artifact_put(&fixed, "notes/today", json!("all good"), 2)
            .await
            .unwrap();
        store.close().await;
    });
    let daemon = Daemon::start(d);
    let url = daemon.url.clone();
    let weft = |args: &[&str]| weft_via(d, &url, args);
    let all = json_ok(&weft(&["runs", "artifacts", &fixed, "--json"]));
    assert_eq!(
        all,
        json!({"notes/today": "all good", "report": {"pages": 3}})
    );
    let text = stdout(&weft(&["runs", "artifacts", &fixed]));
    assert!(text.contains(r#"report = {"pages":3}"#), "{text}");
    let one = json_ok(&weft(&["runs", "artifacts", &fixed, "notes/today"]));
    assert_eq!(one, json!("all good"));
    let out = weft(&["runs", "artifacts", &fixed, "nope"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("no artifact `nope`; it has notes/today, report") && err.contains("404"),
        "{err}"
    );
    let out = weft(&["runs", "artifacts", &dropped]);
    assert!(stderr(&out).contains("has no artifacts"), "{out:?}");
    let err = stderr(&weft(&["runs", "artifacts", "dlq-2020-01-01-001-abc"]));
    assert!(
        err.contains("no run `dlq-2020-01-01-001-abc`") && err.contains("404"),
        "{err}"
    );
}
