//! The progress lines of `weft run` and `weft runs resume` say when a retry
//! comes as a person reads it — `retry in 1.5s at 14:03:07 UTC` — not as a
//! count of ms since 1970; and a resume that has to wait for a lease a dead
//! worker still holds says what it waits for and for how long. Real processes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;

use common::{text, weft};
use serde_json::{Value, json};
use weft_tests::plugin_path;

/// A project whose flow `flaky` fails its first attempt (transiently) and
/// succeeds on the second, after exp-backoff's 1.5 s (no jitter).
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["flaky-step", "exp-backoff", "echo"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: rp\nplugins:\n  flaky-step: { path: plugins/flaky-step.wasm, kind: step }\n  \
         echo: { path: plugins/echo.wasm, kind: step }\n  \
         exp-backoff:\n    path: plugins/exp-backoff.wasm\n    kind: retry\n    \
         config: { base_ms: 1500, jitter_ms: 0, max_attempts: 3 }\n\
         defaults:\n  retry: { strategy: exp-backoff }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/flaky.yaml"),
        "id: flaky\nsteps:\n  try: { uses: flaky-step, with: { succeed_on_attempt: 2 } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/pair.yaml"),
        "id: pair\nsteps:\n  a: { uses: echo }\n  b: { uses: echo, needs: [a] }\n",
    )
    .unwrap();
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn a_retry_line_says_how_long_and_until_what_time() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let out = weft(dir.path(), &["run", "flaky"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("step try failed"))
        .unwrap_or_else(|| panic!("no failure line in:\n{err}"));
    // `…; retry in 1.5s at 14:03:07 UTC`
    let (_, said) = line
        .split_once("; retry in ")
        .unwrap_or_else(|| panic!("{line}"));
    let (wait, clock) = said.split_once(" at ").unwrap_or_else(|| panic!("{line}"));
    assert_eq!(wait, "1.5s", "{line}");
    let clock = clock
        .strip_suffix(" UTC")
        .unwrap_or_else(|| panic!("{line}"));
    let parts: Vec<&str> = clock.split(':').collect();
    assert!(
        parts.len() == 3
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.parse::<u8>().is_ok()),
        "{line}"
    );
    // No raw epoch milliseconds anywhere in the progress.
    assert!(
        !err.split(|c: char| !c.is_ascii_digit())
            .any(|n| n.len() >= 12),
        "{err}"
    );
}

/// A run whose first task is leased (for 2.5 s) to a worker that is gone:
/// `weft runs resume` says it waits for that lease, whose it is and how long,
/// then runs the task once the lease has run out.
#[test]
fn resume_says_which_lease_it_waits_for_and_how_long() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let state = dir.path().join(".weft");
    std::fs::create_dir_all(&state).unwrap();
    let run = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = weft_store_redb::RedbStore::open(state.join("weft.redb")).unwrap();
            let new = weft_store_api::NewRun {
                flow_id: "pair".into(),
                flow_version: "1".into(),
                tenant: "default".into(),
                input: json!({}),
                priority: 0,
                idempotency_key: None,
                id_prefix: "rp".into(),
                not_before: None,
                initial_tasks: vec![weft_store_api::NewTask {
                    step_id: "a".into(),
                    pool: "default".into(),
                    priority: 0,
                }],
            };
            let run = store.submit_run(new, now_ms()).await.unwrap().run_id;
            let lease = store
                .lease("gone-worker", None, 2_500, WorkerSite::Remote, now_ms())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(lease.step, "a");
            store.close().await;
            run
        })
    };

    let started = Instant::now();
    let out = weft(dir.path(), &["runs", "resume", &run, "--json"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| {
            l.starts_with(
                "waiting for the lease of step `a` (task 1, held by gone-worker) to run out in ",
            )
        })
        .unwrap_or_else(|| panic!("no waiting line in:\n{err}"));
    assert!(line.contains("s at ") && line.contains(" UTC"), "{line}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "resume did not wait for the lease"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "succeeded", "{report}");
}
