//! `weft workers start|stop|status` with real processes against a real daemon
//! on loopback: a SIGKILLed child is restarted (and counted); `stop` drains (a
//! running step finishes and its run succeeds); `--min 1 --max 6` scales up
//! under a burst of slow runs and back down to 1 when idle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_tests::{component_cache_dir, plugin_path};

#[path = "common/daemon.rs"]
mod daemon_support;

use daemon_support::Daemon;

/// A project whose `agent` flow is a slow step (`sleep_ms`) and an echo step.
fn write_slow_project(dir: &Path, sleep_ms: u64) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["echo", "slow-agent", "mock-model"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.join("weft.yaml"),
        format!(
            "id_prefix: sup
plugins:
  echo: {{ path: plugins/echo.wasm, kind: step }}
  work: {{ path: plugins/slow-agent.wasm, kind: step, config: {{ sleep_ms: {sleep_ms} }} }}
  mock-model: {{ path: plugins/mock-model.wasm, kind: model }}
models:
  mock: {{ adapter: mock-model }}
"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/agent.yaml"),
        "id: agent\nsteps:\n  work: { uses: work, model: mock, timeout: 5m }\n  last: { uses: echo, needs: [work] }\n",
    )
    .unwrap();
}

/// A running `weft workers start`, its stderr (its own lines and its
/// children's) read on a thread.
struct Supervisor {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    pid_file: PathBuf,
}

impl Supervisor {
    fn start(dir: &Path, url: &str, args: &[&str]) -> Self {
        let pid_file = dir.join("run/workers.pid");
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["workers", "start", "--daemon", url, "--pid-file"])
            .arg(&pid_file)
            .args(args)
            .env("WEFT_COMPONENT_CACHE", component_cache_dir())
            .env_remove("WEFT_DAEMON")
            .env_remove("WEFT_TOKEN")
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            pid_file,
        }
    }

    /// Waits (up to `within`) for a stderr line containing `needle`.
    fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!("no line with {needle:?} ({e}); seen: {:#?}", self.seen),
            }
        }
    }

    /// `weft workers status --json`, once it shows a supervisor.
    fn status(&self) -> Value {
        let out = weft(
            &["workers", "status", "--json", "--pid-file"],
            &self.pid_file,
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Polls the status until `done` holds for it (at most `within`).
    fn wait_status(&self, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "status never matched: {status:#}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `weft workers stop`: its exit success, then the supervisor's.
    fn stop(mut self) -> (bool, bool) {
        let out = weft(&["workers", "stop", "--pid-file"], &self.pid_file);
        let stopped = out.status.success();
        let exited = self.child.wait().unwrap().success();
        (stopped, exited)
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn weft(args: &[&str], last: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .arg(last)
        .output()
        .unwrap()
}

fn running_pids(status: &Value) -> Vec<u64> {
    status["workers"]
        .as_array()
        .map(|w| w.iter().filter_map(|s| s["pid"].as_u64()).collect())
        .unwrap_or_default()
}

fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get_text(url: &str) -> String {
    let mut r = ureq::get(url).call().unwrap();
    r.body_mut().read_to_string().unwrap()
}

/// The value of the line of `scrape` that starts with `prefix`.
fn metric(scrape: &str, prefix: &str) -> f64 {
    scrape
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in {scrape}"))
}

fn submit(url: &str, input: Value) -> String {
    let mut r = ureq::post(format!("{url}/v1/runs"))
        .send_json(json!({"flow": "agent", "input": input}))
        .unwrap();
    let sub: Value = r.body_mut().read_json().unwrap();
    sub["run_id"].as_str().unwrap().to_owned()
}

fn finished(url: &str, run: &str) -> Value {
    let mut r = ureq::get(format!("{url}/v1/runs/{run}?wait=60"))
        .call()
        .unwrap();
    r.body_mut().read_json().unwrap()
}

#[test]
fn a_killed_worker_is_restarted_and_counted_and_stop_ends_them_all() {
    let dir = tempfile::tempdir().unwrap();
    write_slow_project(dir.path(), 10);
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let mut sup = Supervisor::start(
        dir.path(),
        &daemon.url,
        &[
            "-n",
            "3",
            "--restart-backoff",
            "100ms",
            "--metrics-listen",
            &metrics_addr,
        ],
    );
    sup.wait_for_line("runs 3 worker(s)", Duration::from_secs(30));
    let status = sup.wait_status(Duration::from_secs(30), |s| running_pids(s).len() == 3);
    assert_eq!(status["mode"], "fixed 3", "{status:#}");
    let pids = running_pids(&status);
    let victim = pids[1];
    let killed = Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    sup.wait_for_line("worker 1 restarted", Duration::from_secs(30));
    let after = sup.wait_status(Duration::from_secs(10), |s| {
        s["restarts_total"] == 1 && running_pids(s).len() == 3
    });
    let new = running_pids(&after);
    assert!(!new.contains(&victim), "{after:#}");
    assert_eq!(
        (new[0], new[2]),
        (pids[0], pids[2]),
        "the others kept running"
    );
    assert_eq!(after["workers"][1]["restarts"], 1, "{after:#}");
    let scrape = get_text(&format!("http://{metrics_addr}/metrics"));
    assert_eq!(
        metric(&scrape, "weft_workers_restarts_total{instance="),
        1.0,
        "{scrape}"
    );
    assert_eq!(
        metric(&scrape, "weft_workers_running{instance="),
        3.0,
        "{scrape}"
    );
    // The restarted worker works: a run goes through.
    let run = submit(&daemon.url, json!({}));
    assert_eq!(finished(&daemon.url, &run)["run"]["status"], "succeeded");

    let pid_file = sup.pid_file.clone();
    assert_eq!(sup.stop(), (true, true));
    assert!(!pid_file.exists(), "the PID file is removed");
    for pid in new {
        assert!(!alive(pid), "worker {pid} still runs");
    }
    let out = weft(&["workers", "status", "--pid-file"], &pid_file);
    assert!(!out.status.success(), "no supervisor: status exits 1");
}

#[test]
fn stop_drains_a_running_step_and_its_run_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    write_slow_project(dir.path(), 2_000);
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let mut sup = Supervisor::start(dir.path(), &daemon.url, &["-n", "1", "--concurrency", "1"]);
    sup.wait_for_line("runs 1 worker(s)", Duration::from_secs(30));
    let run = submit(&daemon.url, json!({}));
    let leased = sup.wait_for_line(" leased task ", Duration::from_secs(60));
    assert!(
        leased.contains(&run) && leased.contains("step work"),
        "{leased}"
    );
    let started = Instant::now();
    assert_eq!(sup.stop(), (true, true), "stopped and drained cleanly");
    assert!(
        started.elapsed() >= Duration::from_millis(1_000),
        "stop waited for the running step"
    );
    let got: Value = {
        let mut r = ureq::get(format!("{}/v1/runs/{run}", daemon.url))
            .call()
            .unwrap();
        r.body_mut().read_json().unwrap()
    };
    assert_ne!(
        got["run"]["status"], "succeeded",
        "no worker ran `last`: {got}"
    );
    assert!(
        got["outputs"]["work"].is_object(),
        "work's drained result was kept: {got}"
    );
    // The drained step's result was accepted: a new worker runs only `last`.
    let again = Supervisor::start(dir.path(), &daemon.url, &["-n", "1"]);
    let got = finished(&daemon.url, &run);
    assert_eq!(got["run"]["status"], "succeeded", "{got}");
    let events: Value = {
        let mut r = ureq::get(format!("{}/v1/runs/{run}/events", daemon.url))
            .call()
            .unwrap();
        r.body_mut().read_json().unwrap()
    };
    let work_done = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "step-succeeded")
        .count();
    assert_eq!(work_done, 2, "work once (drained), last once: {events:#}");
    drop(again);
}

#[test]
fn a_burst_scales_up_past_one_worker_and_idle_scales_back_to_one() {
    let dir = tempfile::tempdir().unwrap();
    write_slow_project(dir.path(), 1_500);
    let daemon = Daemon::start_with_workers(dir.path(), 0);
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let mut sup = Supervisor::start(
        dir.path(),
        &daemon.url,
        &[
            "--min",
            "1",
            "--max",
            "6",
            "--concurrency",
            "1",
            "--scale-interval",
            "200ms",
            "--up-after",
            "400ms",
            "--down-after",
            "1s",
            "--up-depth-per-slot",
            "1",
            "--drain-grace",
            "10s",
            "--metrics-listen",
            &metrics_addr,
        ],
    );
    sup.wait_for_line("runs 1 worker(s)", Duration::from_secs(30));
    let runs: Vec<String> = (0..12).map(|_| submit(&daemon.url, json!({}))).collect();
    let up = sup.wait_for_line("scale up 1 -> ", Duration::from_secs(60));
    assert!(up.contains("ready per slot"), "{up}");
    let grown = sup.wait_status(Duration::from_secs(30), |s| running_pids(s).len() > 1);
    assert!(grown["desired"].as_u64().unwrap() > 1, "{grown:#}");
    for run in &runs {
        assert_eq!(finished(&daemon.url, run)["run"]["status"], "succeeded");
    }
    sup.wait_for_line("scale down 2 -> 1: queue empty", Duration::from_secs(60));
    let idle = sup.wait_status(Duration::from_secs(30), |s| {
        s["desired"] == 1 && running_pids(s).len() == 1
    });
    assert!(
        idle["last_decision"]
            .as_str()
            .unwrap()
            .contains("scale down 2 -> 1"),
        "{idle:#}"
    );
    let scrape = get_text(&format!("http://{metrics_addr}/metrics"));
    let ups = metric(
        &scrape,
        "weft_workers_scale_decisions_total{direction=\"up\",instance=",
    );
    let downs = metric(
        &scrape,
        "weft_workers_scale_decisions_total{direction=\"down\",instance=",
    );
    assert!(ups >= 1.0 && downs >= 1.0, "{scrape}");
    assert_eq!(
        metric(&scrape, "weft_workers_desired{instance="),
        1.0,
        "{scrape}"
    );
    assert_eq!(sup.stop(), (true, true));
}
