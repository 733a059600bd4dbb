//! `weft dlq ls --since/--limit`, and `weft dlq requeue|purge` of a glob over
//! run ids (or `--all`): on the state folder and through a real daemon. A
//! purge asks on a terminal (a pty from `script`), and without one refuses
//! unless `--yes`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{text, weft};
use serde_json::Value;
use weft_tests::{component_cache_dir, plugin_path};

#[path = "common/daemon.rs"]
mod daemon_support;

use daemon_support::{Daemon, wait_for_run, weft_via};

/// A project whose flow `ask` dead-letters at once: its model fails for good.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["prompt", "mock-model", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: bulk\nplugins:\n  prompt: { path: plugins/prompt.wasm, kind: step }\n  \
         mock-model: { path: plugins/mock-model.wasm, kind: model }\n  \
         exp-backoff: { path: plugins/exp-backoff.wasm, kind: retry }\n\
         models:\n  flaky: { adapter: mock-model, config: { fail: permanent } }\n\
         defaults:\n  retry: { strategy: exp-backoff, max_attempts: 1 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/ask.yaml"),
        "id: ask\nsteps:\n  ask:\n    uses: prompt\n    model: flaky\n    with:\n      template: Say hi.\n",
    )
    .unwrap();
}

/// Runs `ask` in this process until it dead-letters; its run id.
fn dead_lettered(dir: &Path) -> String {
    let out = weft(dir, &["run", "ask", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "dead-lettered", "{report}");
    report["run_id"].as_str().unwrap().to_owned()
}

/// The run ids `weft dlq ls ARGS --json` lists.
fn listed(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{out:?}");
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_owned())
        .collect()
}

/// `weft ARGS` in `dir` on a pseudo-terminal (util-linux `script`), with
/// `answer` typed in; `None` when `script` is not there.
fn on_a_terminal(dir: &Path, args: &[&str], answer: &str) -> Option<Output> {
    let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_weft"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    let mut child = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env_remove("WEFT_DAEMON")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    Some(child.wait_with_output().unwrap())
}

#[test]
fn ls_filters_and_requeue_and_purge_take_globs_on_the_state_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let first = dead_lettered(d);
    let second = dead_lettered(d);
    std::thread::sleep(Duration::from_secs(3));
    let third = dead_lettered(d);

    let all = listed(&weft(d, &["dlq", "ls", "--json"]));
    assert_eq!(all, [first.as_str(), second.as_str(), third.as_str()]);
    assert_eq!(
        listed(&weft(d, &["dlq", "ls", "--since", "2s", "--json"])),
        [third.as_str()]
    );
    assert_eq!(
        listed(&weft(d, &["dlq", "ls", "--since", "10m", "--json"])).len(),
        3
    );
    assert_eq!(
        listed(&weft(d, &["dlq", "ls", "--limit", "2", "--json"])),
        [second.as_str(), third.as_str()]
    );
    let out = weft(d, &["dlq", "ls", "--since", "1d", "--limit", "1"]);
    let table = text(&out.stdout);
    assert_eq!(table.lines().count(), 2, "a header and one row: {table}");
    assert!(table.contains(&third), "{table}");

    // A glob that matches several needs --all; then every one is requeued.
    let out = weft(d, &["dlq", "requeue", "bulk-*"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("`bulk-*` matches 3 dead-lettered tasks"),
        "{err}"
    );
    assert!(err.contains("add --all"), "{err}");
    assert_eq!(listed(&weft(d, &["dlq", "ls", "--json"])).len(), 3);
    let one = format!("{}*", &first[..first.len() - 2]);
    let out = weft(d, &["dlq", "requeue", &one, "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["run_id"], first.as_str());
    let out = weft(d, &["dlq", "requeue", "bulk-*", "--all"]);
    assert!(out.status.success(), "{out:?}");
    let said = text(&out.stdout);
    assert_eq!(said.matches("requeued task").count(), 2, "{said}");
    assert!(
        said.contains(&format!("weft runs resume {third}")),
        "{said}"
    );
    assert!(listed(&weft(d, &["dlq", "ls", "--json"])).is_empty());

    // They fail again on resume: three dead letters once more.
    for run in [&first, &second, &third] {
        assert_eq!(weft(d, &["runs", "resume", run]).status.code(), Some(1));
    }
    assert_eq!(listed(&weft(d, &["dlq", "ls", "--json"])).len(), 3);

    // Purge: not on a terminal it refuses without --yes, and drops nothing.
    let out = weft(d, &["dlq", "purge", "bulk-*"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("3 dead-lettered tasks"), "{err}");
    assert!(err.contains("not on a terminal"), "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(listed(&weft(d, &["dlq", "ls", "--json"])).len(), 3);

    // On a terminal it asks: "n" keeps them, "y" drops them.
    let exact = first.as_str();
    if let Some(out) = on_a_terminal(d, &["dlq", "purge", exact], "n\n") {
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let shown = text(&out.stdout);
        assert!(shown.contains("Purge? [y/N]"), "{shown}");
        assert!(shown.contains("nothing purged"), "{shown}");
        assert_eq!(listed(&weft(d, &["dlq", "ls", "--json"])).len(), 3);
        let out = on_a_terminal(d, &["dlq", "purge", exact], "y\n").unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(text(&out.stdout).contains("purged task"), "{out:?}");
        assert_eq!(
            listed(&weft(d, &["dlq", "ls", "--json"])),
            [second.as_str(), third.as_str()]
        );
    } else {
        eprintln!("no `script` here: the terminal prompt is not tried");
        let out = weft(d, &["dlq", "purge", exact, "--yes"]);
        assert!(out.status.success(), "{out:?}");
    }
    let out = weft(d, &["dlq", "purge", "bulk-*", "--yes", "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert!(listed(&weft(d, &["dlq", "ls", "--json"])).is_empty());
    let out = weft(d, &["dlq", "purge", "bulk-*", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the dead-letter queue is empty"),
        "{out:?}"
    );
}

/// The project of `daemon_dlq.rs`: `flaky` fails its first attempt, which
/// dead-letters it (one attempt allowed), and succeeds from the second.
fn write_flaky_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["flaky-step", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: p1\nplugins:\n  flaky-step: { path: plugins/flaky-step.wasm, kind: step }\n  \
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

#[test]
fn ls_filters_and_requeue_and_purge_take_globs_through_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_flaky_project(d);
    let daemon = Daemon::start(d);
    let url = daemon.url.clone();
    let weft = |args: &[&str]| weft_via(d, &url, args);
    let mut runs = Vec::new();
    for _ in 0..4 {
        let out = weft(&["enqueue", "flaky"]);
        let run = text(&out.stdout).trim().to_owned();
        wait_for_run(&url, &run, |page| page["open_tasks"] == 0);
        runs.push(run);
    }
    assert_eq!(listed(&weft(&["dlq", "ls", "--json"])), runs);
    assert_eq!(
        listed(&weft(&["dlq", "ls", "--limit", "1", "--json"])),
        [runs[3].as_str()]
    );
    assert_eq!(
        listed(&weft(&[
            "dlq", "ls", "--since", "10m", "--limit", "5", "--json"
        ])),
        runs
    );
    // The API filters by itself, too.
    let (status, page) = daemon_support::get_json(&format!("{url}/v1/dlq?limit=2"));
    assert_eq!(status, 200);
    assert_eq!(page["dead_letters"].as_array().unwrap().len(), 2, "{page}");
    let (_, page) = daemon_support::get_json(&format!("{url}/v1/dlq?since_ms=99999999999999"));
    assert_eq!(page["dead_letters"].as_array().unwrap().len(), 0, "{page}");

    // A run id names its task: requeued, the daemon runs it again and it succeeds.
    let out = weft(&["dlq", "requeue", &runs[0]]);
    assert!(out.status.success(), "{out:?}");
    wait_for_run(&url, &runs[0], |page| page["status"] == "succeeded");
    // Purge: refused without --yes (no terminal), done with it.
    let out = weft(&["dlq", "purge", "p1-*"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("3 dead-lettered tasks"),
        "{out:?}"
    );
    let out = weft(&["dlq", "purge", &runs[3], "--yes", "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["run_id"], runs[3].as_str(), "{rows}");
    assert_eq!(listed(&weft(&["dlq", "ls", "--json"])), runs[1..3]);

    // The glob matches the two left: --all requeues both.
    let out = weft(&["dlq", "requeue", "p1-*"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("matches 2 dead-lettered tasks"),
        "{out:?}"
    );
    let out = weft(&["dlq", "requeue", "p1-*", "--all", "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    for run in &runs[1..3] {
        wait_for_run(&url, run, |page| page["status"] == "succeeded");
    }
    assert!(listed(&weft(&["dlq", "ls", "--json"])).is_empty());
    let out = weft(&["dlq", "purge", "--all", "--yes"]);
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stderr).contains("nothing to purge"), "{out:?}");
    drop(daemon);
}
