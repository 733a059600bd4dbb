//! `weft pools`, `weft policy set` and `weft retry set`, in a project without a
//! daemon (the engine opened on the state folder) and against a real `weft
//! daemon`: the pools' limits show, a component of the right world is swapped
//! in and recorded with its sha256, one of the wrong world is refused and the
//! old policy stays; tasks waiting for the pool are listed, and once they fill
//! an `on_exhausted: fail` pool the next `weft enqueue` is refused (409); the
//! pool gauges of `/metrics` say the same.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::process::{Command, Output};

use weft_tests::{component_cache_dir, plugin_path};

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, weft_via};
use output::{failed, json_ok};

/// A project with the echo step, both pool policies and the wrong-world
/// component, a pool `llm` (2 at once, fail when full) that `chain` runs in.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in [
        "echo",
        "priority-fifo",
        "fair-share",
        "exp-backoff",
        "hostile-wrong-world",
    ] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: pl\nplugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n  \
         priority-fifo: { path: plugins/priority-fifo.wasm, kind: pool }\n\
         pools:\n  llm:\n    policy: priority-fifo\n    max_concurrent: 2\n    \
         cost_limit_daily_usd: 5\n    on_exhausted: fail\n    \
         rate_limit: { per_minute: 60, burst: 3 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/chain.yaml"),
        "id: chain\nsteps:\n  a: { uses: echo, pool: llm }\n",
    )
    .unwrap();
}

/// `weft ARGS` in `dir`, with no daemon.
fn weft(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env_remove("WEFT_DAEMON")
        .current_dir(dir)
        .output()
        .unwrap()
}

fn pool<'a>(answer: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    answer["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no pool {name} in {answer}"))
}

/// `weft pools --pool llm` names fair-share with fair-share's hash, and
/// neither priority-fifo with it nor fair-share with priority-fifo's.
fn assert_policy_line(out: &Output, fair: &str, fifo: &str) {
    let shown = output::stdout(out);
    let line = shown
        .lines()
        .find(|l| l.trim_start().starts_with("policy"))
        .unwrap_or_else(|| panic!("no policy line in {shown}"));
    assert!(
        line.contains(&format!("fair-share {}", &fair[..15])),
        "{line}"
    );
    assert!(line.contains("swapped in over priority-fifo"), "{line}");
    assert!(
        !line.contains(&format!("priority-fifo {}", &fair[..15])),
        "{line}"
    );
    assert!(!line.contains(&fifo[..15]), "{line}");
}

/// `weft pools` without `--pool`: one table, a row per pool.
#[test]
fn pools_are_one_table_and_one_pool_has_its_details() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let out = weft(dir.path(), &["pools"]);
    assert!(out.status.success(), "{out:?}");
    let shown = output::stdout(&out);
    let mut lines = shown.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("  ")
        .filter(|c| !c.is_empty())
        .collect();
    let header: Vec<&str> = header.iter().map(|c| c.trim()).collect();
    assert_eq!(
        header,
        ["POOL", "ACTIVE", "MAX", "QUEUED", "COST TODAY", "LIMIT"],
        "{shown}"
    );
    let row = |name: &str| -> Vec<String> {
        shown
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name} in {shown}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        row("llm"),
        ["llm", "0", "2", "0", "$0.00", "$5.00"],
        "{shown}"
    );
    assert_eq!(row("default")[5], "-", "{shown}");
    assert!(
        !shown.contains("on full"),
        "no details without --pool: {shown}"
    );

    let out = weft(dir.path(), &["pools", "--pool", "llm"]);
    let shown = output::stdout(&out);
    assert!(shown.starts_with("pool llm\n"), "{shown}");
    for detail in [
        "running  0/2",
        "queued   0",
        "limit $5.00",
        "rate     60.0/min",
        "on full  fail",
    ] {
        assert!(shown.contains(detail), "{detail}: {shown}");
    }
    assert!(shown.contains("policy   priority-fifo "), "{shown}");
    assert!(!shown.contains("default"), "only llm: {shown}");
}

#[test]
fn pools_and_swaps_without_a_daemon() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let before = json_ok(&weft(dir.path(), &["pools", "--json"]));
    let llm = pool(&before, "llm");
    assert_eq!(llm["max_concurrent"], 2);
    assert_eq!(llm["on_exhausted"], "fail");
    assert_eq!(llm["cost_limit_daily_usd"], 5.0);
    assert_eq!(llm["active"], 0);
    assert_eq!(llm["policy_swapped"], false);
    let old = llm["policy_sha256"].as_str().unwrap().to_owned();

    let refused = weft(
        dir.path(),
        &[
            "policy",
            "set",
            "--pool",
            "llm",
            "plugins/hostile-wrong-world.wasm",
        ],
    );
    let message = failed(&refused);
    assert!(message.contains("pool"), "{message}");
    let same = json_ok(&weft(dir.path(), &["pools", "--pool", "llm", "--json"]));
    assert_eq!(pool(&same, "llm")["policy_sha256"], old.as_str());

    let report = json_ok(&weft(
        dir.path(),
        &[
            "policy",
            "set",
            "--pool",
            "llm",
            "plugins/fair-share.wasm",
            "--json",
        ],
    ));
    assert_eq!(report["old_sha256"], old.as_str());
    assert_eq!(report["stream"], "@pool:llm");
    let after = json_ok(&weft(dir.path(), &["pools", "--json"]));
    let llm = pool(&after, "llm");
    assert_eq!(llm["policy_sha256"], report["new_sha256"]);
    assert_eq!(llm["policy_swapped"], true);
    // The name shown is the swapped-in component's, the one its hash is of.
    assert_eq!(report["name"], "fair-share");
    assert_eq!(llm["policy"], "fair-share", "{llm}");
    assert_eq!(llm["configured_policy"], "priority-fifo", "{llm}");
    let fair = report["new_sha256"].as_str().unwrap();
    assert_policy_line(&weft(dir.path(), &["pools", "--pool", "llm"]), fair, &old);

    let unknown = weft(dir.path(), &["pools", "--pool", "nope"]);
    assert!(failed(&unknown).contains("unknown pool `nope`"));
}

#[test]
fn pools_and_swaps_through_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let daemon = Daemon::start(dir.path());
    let url = daemon.url.as_str();
    let answer = json_ok(&weft_via(
        dir.path(),
        url,
        &["pools", "--pool", "llm", "--json"],
    ));
    assert_eq!(answer["pools"].as_array().unwrap().len(), 1);
    let old = pool(&answer, "llm")["policy_sha256"]
        .as_str()
        .unwrap()
        .to_owned();

    let refused = weft_via(
        dir.path(),
        url,
        &[
            "policy",
            "set",
            "--pool",
            "llm",
            "plugins/hostile-wrong-world.wasm",
        ],
    );
    assert!(failed(&refused).contains("400"));
    let same = json_ok(&weft_via(dir.path(), url, &["pools", "--json"]));
    assert_eq!(pool(&same, "llm")["policy_sha256"], old.as_str());

    let report = json_ok(&weft_via(
        dir.path(),
        url,
        &[
            "policy",
            "set",
            "--pool",
            "llm",
            "plugins/fair-share.wasm",
            "--config",
            "{}",
            "--json",
        ],
    ));
    assert_eq!(report["old_sha256"], old.as_str());
    let after = json_ok(&weft_via(dir.path(), url, &["pools", "--json"]));
    assert_eq!(pool(&after, "llm")["policy_sha256"], report["new_sha256"]);
    assert_eq!(pool(&after, "llm")["policy"], "fair-share");
    let fair = report["new_sha256"].as_str().unwrap();
    assert_policy_line(
        &weft_via(dir.path(), url, &["pools", "--pool", "llm"]),
        fair,
        &old,
    );

    let retry = json_ok(&weft_via(
        dir.path(),
        url,
        &[
            "retry",
            "set",
            "--flow",
            "chain",
            "plugins/exp-backoff.wasm",
            "--json",
        ],
    ));
    assert_eq!(retry["stream"], "@retry:chain");
    assert_eq!(retry["key"], "retry:chain");
    let text = weft_via(dir.path(), url, &["pools", "--pool", "llm"]);
    let shown = output::stdout(&text);
    assert!(shown.contains("running  0/2"), "{shown}");
    assert!(shown.contains("(swapped in over priority-fifo)"), "{shown}");

    // Both swaps can be read back from their ledger streams.
    let (status, swaps) = daemon_support::get_json(&format!("{url}/v1/pools/llm/swaps"));
    assert_eq!(status, 200, "{swaps}");
    assert_eq!(swaps["stream"], "@pool:llm");
    let events = swaps["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{swaps}");
    assert_eq!(events[0]["type"], "component-swapped");
    assert_eq!(events[0]["payload"]["old_sha256"], old.as_str());
    assert_eq!(events[0]["payload"]["new_sha256"], fair);
    let (_, retries) = daemon_support::get_json(&format!("{url}/v1/flows/chain/swaps"));
    assert_eq!(
        retries["events"].as_array().map(Vec::len),
        Some(1),
        "{retries}"
    );
    let (status, _) = daemon_support::get_json(&format!("{url}/v1/pools/nope/swaps"));
    assert_eq!(status, 404);
    drop(daemon);
}

#[test]
fn waiting_tasks_show_and_a_full_fail_pool_refuses_the_next_enqueue() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    // No worker: what is enqueued waits.
    let daemon = Daemon::start_with(dir.path(), &["--no-auth", "--workers", "0"]);
    let url = daemon.url.as_str();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let out = weft_via(dir.path(), url, &["enqueue", "chain"]);
        assert!(out.status.success(), "{out:?}");
        runs.push(output::stdout(&out).trim().to_owned());
    }
    let answer = json_ok(&weft_via(
        dir.path(),
        url,
        &["pools", "--pool", "llm", "--json"],
    ));
    let llm = pool(&answer, "llm");
    assert_eq!(
        (llm["active"].as_u64(), llm["queued"].as_u64()),
        (Some(0), Some(2))
    );
    let waiting: Vec<&str> = llm["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["run"].as_str().unwrap())
        .collect();
    assert_eq!(waiting.len(), 2);
    for run in &runs {
        assert!(waiting.contains(&run.as_str()), "{run} not in {waiting:?}");
    }
    assert!(llm["waiting"][0]["since_ms"].as_u64().unwrap() <= answer["now_ms"].as_u64().unwrap());

    // max_concurrent 2 is filled by the two waiting: on_exhausted: fail refuses.
    let refused = weft_via(dir.path(), url, &["enqueue", "chain"]);
    let message = failed(&refused);
    assert!(message.contains("pool `llm` is exhausted"), "{message}");
    assert!(message.contains("409"), "{message}");
    let text = output::stdout(&weft_via(dir.path(), url, &["pools", "--pool", "llm"]));
    assert!(text.contains("queued   2"), "{text}");
    assert!(text.contains("waiting:"), "{text}");

    let mut scrape = ureq::get(format!("{url}/metrics")).call().unwrap();
    let scrape = scrape.body_mut().read_to_string().unwrap();
    assert!(
        scrape.lines().any(|l| l.starts_with("weft_pool_queued{pool=\"llm\",instance=")
            && l.ends_with("} 2")),
        "{scrape}"
    );
    assert!(
        scrape.lines().any(|l| l.starts_with("weft_pool_active{pool=\"llm\",instance=")
            && l.ends_with("} 0")),
        "{scrape}"
    );
    drop(daemon);
}
