//! The web console in a real headless Chromium (driven by Playwright for
//! Python, `tests/console/browser.py`) against a real `weft daemon` with API
//! tokens and real runs: sign-in (a wrong token refused), a tenant sees its own
//! runs only, a failed run's graph marks the failed step and its ledger
//! verifies, a dead letter requeued from the console lets its run finish, a
//! run submitted while the list is open appears without a reload, and a
//! state-changing request without the CSRF proof is refused; sign-in and the
//! skip link work from the keyboard, and every page's text keeps a 4.5:1
//! contrast. Screenshots of
//! each page go to `$CARGO_TARGET_TMPDIR/console-screenshots` (or
//! `WEFT_CONSOLE_SHOTS`).
//!
//! Needs Chromium and Playwright: `scripts/setup-browser.sh` installs them and
//! prints `WEFT_CONSOLE_PYTHON` / `WEFT_CHROMIUM` (scripts/test.sh reads it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test should fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_tests::plugin_path;

#[path = "common/daemon.rs"]
mod daemon_support;

#[path = "common/auth.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod auth_support;

use auth_support::{
    ACME, ADMIN, Cred, GLOBEX, append_to_weft_yaml, call, write_project_with_tokens,
};
use daemon_support::Daemon;

/// The token project plus two flows: `doomed` (an echo, then a step that
/// fails for good and is dead-lettered, then one that never runs) and `flaky` (fails its first
/// attempt; one attempt allowed, so it is dead-lettered, and a requeue
/// succeeds).
fn write_project(dir: &Path) {
    write_project_with_tokens(dir);
    for name in ["flaky-step", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    let yaml = std::fs::read_to_string(dir.join("weft.yaml"))
        .unwrap()
        .replace(
            "plugins:\n",
            "plugins:\n  flaky-step: { path: plugins/flaky-step.wasm, kind: step }\n  \
         exp-backoff: { path: plugins/exp-backoff.wasm, kind: retry }\n",
        );
    std::fs::write(dir.join("weft.yaml"), yaml).unwrap();
    append_to_weft_yaml(
        dir,
        "defaults:\n  retry: { strategy: exp-backoff, max_attempts: 1 }\n",
    );
    std::fs::write(
        dir.join("flows/doomed.yaml"),
        "id: doomed\nsteps:\n  prep: { uses: echo }\n  \
         boom: { uses: flaky-step, with: { permanent: true }, needs: [prep] }\n  \
         after: { uses: echo, needs: [boom] }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/flaky.yaml"),
        "id: flaky\nsteps:\n  try: { uses: flaky-step, with: { succeed_on_attempt: 2 } }\n",
    )
    .unwrap();
}

fn submit(url: &str, token: &str, flow: &str, input: Value) -> String {
    let a = call(
        url,
        "POST",
        "/v1/runs",
        Cred::Token(token),
        Some(json!({ "flow": flow, "input": input })),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    a.body["run_id"].as_str().unwrap().to_owned()
}

/// Long-polls the run's events (at most a minute) until `done` holds.
fn wait_until(url: &str, token: &str, run: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut after = 0;
    loop {
        let path = format!("/v1/runs/{run}/events?after={after}&wait=5");
        let page = call(url, "GET", &path, Cred::Token(token), None);
        assert_eq!(page.status, 200, "{}", page.body);
        if done(&page.body) {
            return page.body;
        }
        assert!(
            Instant::now() < deadline,
            "run {run} never got there: {}",
            page.body
        );
        after = page.body["last_seq"].as_u64().unwrap();
    }
}

/// Waits until `run` has no open task, and returns its dead-lettered task.
fn dead_letter_of(url: &str, run: &str) -> u64 {
    wait_until(url, ADMIN, run, |p| p["open_tasks"] == 0);
    let letters = call(url, "GET", "/v1/dlq", Cred::Token(ADMIN), None);
    letters.body["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["run"] == run)
        .unwrap_or_else(|| panic!("{run} is not dead-lettered: {}", letters.body))["task"]
        .as_u64()
        .unwrap()
}

fn tool(var: &str) -> PathBuf {
    let value = std::env::var_os(var).unwrap_or_else(|| {
        panic!(
            "{var} is not set: the console's browser tests need Chromium and Playwright; \
             run `eval \"$(scripts/setup-browser.sh)\"` (scripts/test.sh does)"
        )
    });
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{var}={} does not exist: run scripts/setup-browser.sh",
        path.display()
    );
    path
}

#[test]
fn the_console_in_a_real_browser() {
    let python = tool("WEFT_CONSOLE_PYTHON");
    let chromium = tool("WEFT_CHROMIUM");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start_with(d, &[]);
    let url = daemon.url.clone();

    let acme_runs: Vec<String> = (0..3)
        .map(|n| submit(&url, ACME, "chain", json!({ "n": n })))
        .collect();
    let globex_run = submit(&url, GLOBEX, "chain", json!({ "n": 100 }));
    let failed = submit(&url, ACME, "doomed", json!({}));
    let dead = submit(&url, ACME, "flaky", json!({}));
    for run in &acme_runs {
        wait_until(&url, ACME, run, |p| p["status"] == "succeeded");
    }
    wait_until(&url, GLOBEX, &globex_run, |p| p["status"] == "succeeded");
    // `boom`'s permanent error dead-letters it; purging the dead letter fails
    // the run, with the step's error in the run's.
    let boom = dead_letter_of(&url, &failed);
    let purged = call(
        &url,
        "DELETE",
        &format!("/v1/dlq/{boom}"),
        Cred::Token(ADMIN),
        None,
    );
    assert_eq!(purged.status, 200, "{}", purged.body);
    let failed_page = call(
        &url,
        "GET",
        &format!("/v1/runs/{failed}"),
        Cred::Token(ACME),
        None,
    );
    assert_eq!(
        failed_page.body["run"]["status"], "failed",
        "{}",
        failed_page.body
    );
    let task = dead_letter_of(&url, &dead);

    let shots = std::env::var_os("WEFT_CONSOLE_SHOTS").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&shots).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console/browser.py");
    let facts = json!({
        "url": url,
        "chromium": chromium,
        "shots": shots,
        "tokens": { "acme": ACME, "globex": GLOBEX, "admin": ADMIN },
        "acme_runs": acme_runs,
        "globex_run": globex_run,
        "failed_run": failed,
        "failed_step": "boom",
        "dead_run": dead,
        "dead_task": task,
    });
    let out = Command::new(&python)
        .arg(&script)
        .arg(facts.to_string())
        .output()
        .unwrap();
    let report = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser checks failed:\n{report}");
    for check in [
        "sign-in",
        "tenant-scope",
        "failed-run",
        "live",
        "requeue",
        "csrf",
        "pages",
    ] {
        assert!(
            report.contains(&format!("ok {check}")),
            "{check} did not run:\n{report}"
        );
    }

    // What the browser did is in the store, not only on the screen.
    let after = call(
        &url,
        "GET",
        &format!("/v1/runs/{dead}"),
        Cred::Token(ADMIN),
        None,
    );
    assert_eq!(after.body["run"]["status"], "succeeded", "{}", after.body);
    for page in [
        "runs",
        "run",
        "dead-letters",
        "queue",
        "schedules",
        "costs",
        "workers",
    ] {
        let shot = shots.join(format!("{page}.png"));
        assert!(
            shot.metadata().is_ok_and(|m| m.len() > 1000),
            "no screenshot {}",
            shot.display()
        );
    }
    drop(daemon);
}
