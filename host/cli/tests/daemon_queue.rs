//! Against a real `weft daemon` with ONE worker kept busy by a step that never
//! ends: `weft queue next` names the waiting task the worker would take next
//! (the priority-5 run's, submitted with `weft enqueue --priority 5`, which the
//! run and its task keep), and `weft runs tail --follow` of a waiting run prints
//! the event that ends it as soon as it is committed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use weft_tests::{component_cache_dir, plugin_path};

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, get_json, wait_for_run, weft_via};
use output::{json_ok, stdout};

/// A project with `busy` (a step that asks the mock model, then spins until
/// its timeout) and `chain` (two echo steps).
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["echo", "slow-agent", "mock-model"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: q\nplugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n  \
         slow-agent: { path: plugins/slow-agent.wasm, kind: step }\n  \
         mock-model: { path: plugins/mock-model.wasm, kind: model }\n\
         models:\n  mock: { adapter: mock-model }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/busy.yaml"),
        "id: busy\nsteps:\n  spin: { uses: slow-agent, model: mock, timeout: 2m, with: { spin: true } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/chain.yaml"),
        "id: chain\ninputs:\n  n: { type: integer, required: true }\nsteps:\n  a: { uses: echo }\n  b: { uses: echo, needs: [a] }\n",
    )
    .unwrap();
}

#[test]
fn queue_next_and_tail_follow_through_a_daemon_whose_worker_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    let daemon = Daemon::start_with_workers(d, 1);
    let url = daemon.url.as_str();
    let weft = |args: &[&str]| weft_via(d, url, args);

    // Keep the only worker busy: wait until the spinning step has started.
    let busy = stdout(&weft(&["enqueue", "busy"])).trim().to_owned();
    wait_for_run(url, &busy, |page| page["status"] == "running");
    let out = weft(&["queue", "next"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), "nothing is ready");
    assert_eq!(json_ok(&weft(&["queue", "next", "--json"])), Value::Null);

    // Two runs wait; the later one has priority 5.
    let low = stdout(&weft(&["enqueue", "chain", "-i", r#"{"n":1}"#]))
        .trim()
        .to_owned();
    let high = stdout(&weft(&[
        "enqueue",
        "chain",
        "-i",
        r#"{"n":2}"#,
        "--priority",
        "5",
    ]))
    .trim()
    .to_owned();
    let (status, answer) = get_json(&format!("{url}/v1/runs/{high}"));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["run"]["priority"], 5, "{answer}");
    assert_eq!(answer["tasks"][0]["priority"], 5, "{answer}");
    assert_eq!(
        get_json(&format!("{url}/v1/runs/{low}")).1["run"]["priority"],
        0
    );

    let next = json_ok(&weft(&["queue", "next", "--json"]));
    assert_eq!(next["run"], high.as_str(), "{next}");
    assert_eq!(next["flow"], "chain", "{next}");
    assert_eq!(next["step"], "a", "{next}");
    assert_eq!(next["pool"], "default", "{next}");
    assert_eq!(next["priority"], 5, "{next}");
    assert_eq!(next["attempt"], 1, "{next}");
    assert_eq!(next["state"], "ready", "{next}");
    assert!(next["lag_ms"].is_u64(), "{next}");
    let text = stdout(&weft(&["queue", "next", "--pool", "default"]));
    assert!(text.contains(&format!("run       {high}")), "{text}");
    assert!(
        text.contains("priority  5") && text.contains("(lag "),
        "{text}"
    );
    let text = stdout(&weft(&["queue", "next", "--pool", "gpu"]));
    assert_eq!(text.trim(), "nothing is ready in pool gpu");
    // A peek leases nothing: both runs still wait.
    let stats = json_ok(&weft(&["queue", "stats", "--json"]));
    assert_eq!(
        (stats["depth"].as_u64(), stats["inflight"].as_u64()),
        (Some(2), Some(1))
    );

    // Follow the low run, which waits; cancelling it ends the tail.
    let mut tail = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["runs", "tail", &low, "--follow", "--json", "--daemon", url])
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(d)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        (first["seq"].as_u64(), first["type"].as_str()),
        (Some(1), Some("run-created"))
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(format!("{url}/v1/runs/{low}/cancel"))
        .send_empty()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert!(tail.wait().unwrap().success());
    let kinds: Vec<&str> = rest.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["run-cancelled"], "{rest:?}");
    assert_eq!(rest[0]["seq"], 2);

    // Without --follow: the events so far, then it returns; text lines too.
    let out = weft(&["runs", "tail", &high]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("run-created") && text.contains("priority=5"),
        "{text}"
    );
    let next = json_ok(&weft(&["queue", "next", "--json"]));
    assert_eq!(
        next["run"],
        high.as_str(),
        "the cancelled run's task is gone: {next}"
    );
}
