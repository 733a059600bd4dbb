//! A real `weft daemon` process for the tests: a temp project with the echo
//! plugin, started on `127.0.0.1:0`, its URL read from its first stdout line.
//! Included with `#[path]` by the tests that need it. The project declares no
//! API token, so [`Daemon::start`] passes `--no-auth`; a test that adds tokens to
//! weft.yaml starts it with [`Daemon::start_with`] and no extra flags.
#![allow(dead_code, reason = "each test binary uses a part of the helpers")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use weft_tests::{component_cache_dir, plugin_path};

/// A project with one flow, `chain`: three echo steps in a row, and a yearly
/// schedule that never fires during a test on its own.
pub fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::copy(plugin_path("echo"), dir.join("plugins/echo.wasm")).unwrap();
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: dmn\nplugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/chain.yaml"),
        "id: chain\ninputs:\n  n: { type: integer, required: true }\nsteps:\n  a: { uses: echo }\n  b: { uses: echo, needs: [a] }\n  c: { uses: echo, needs: [b] }\nschedule:\n  - cron: \"0 0 0 1 1 *\"\n    input: { n: 7 }\n",
    )
    .unwrap();
}

/// A running daemon and its API address; killed when dropped.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Daemon {
    /// Starts `weft daemon --no-auth` in `dir` with its state in `dir/state` and
    /// a Unix socket at `dir/weft.sock`; returns once it listens.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &["--no-auth"])
    }

    /// [`Daemon::start`] with `workers` in-process workers (0: only `weft
    /// worker` processes run tasks).
    pub fn start_with_workers(dir: &Path, workers: usize) -> Self {
        let workers = workers.to_string();
        Self::start_with(dir, &["--no-auth", "--workers", &workers])
    }

    /// Like [`Daemon::start`], with `extra` arguments instead of `--no-auth`
    /// (4 in-process workers unless they say `--workers`).
    pub fn start_with(dir: &Path, extra: &[&str]) -> Self {
        let socket = dir.join("weft.sock").display().to_string();
        let state = dir.join("state").display().to_string();
        let default_workers: &[&str] = if extra.contains(&"--workers") {
            &[]
        } else {
            &["--workers", "4"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["daemon", "--listen", "127.0.0.1:0"])
            .args(default_workers)
            .args(["--socket", &socket, "--state", &state])
            .args(extra)
            .env("WEFT_COMPONENT_CACHE", component_cache_dir())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("weft daemon listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (a crash: nothing is flushed or closed), and waits until the
    /// process is gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Runs `weft ARGS --daemon URL` in `dir` (no `WEFT_DAEMON` from outside).
pub fn weft_via(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .args(["--daemon", url])
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env_remove("WEFT_DAEMON")
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `GET URL` with a JSON answer and its status.
pub fn get_json(url: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap())
}

/// Waits (long-polling the run's events, at most a minute) until `done` holds
/// for the daemon's answer to `GET /v1/runs/{run}/events`; returns that answer.
pub fn wait_for_run(url: &str, run: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut after = 0;
    loop {
        let (status, page) = get_json(&format!("{url}/v1/runs/{run}/events?after={after}"));
        assert_eq!(status, 200, "{page}");
        if done(&page) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "run {run} never got there: {page}"
        );
        after = page["last_seq"].as_u64().unwrap();
        // Answers as soon as the run has a new event (or after 5 s).
        get_json(&format!("{url}/v1/runs/{run}/events?after={after}&wait=5"));
    }
}
