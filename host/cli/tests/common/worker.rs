//! Real `weft worker` processes for the tests: started against a daemon URL,
//! their stderr read line by line on a thread so a test can wait for "leased
//! task" lines (and the fencing tokens they name) without sleeping.
//! Included with `#[path]` by the tests that need it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use weft_tests::component_cache_dir;

/// A running `weft worker`; killed when dropped.
pub struct Worker {
    child: Child,
    lines: Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

/// A task lease a worker reported on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The task id.
    pub task: u64,
    /// The run.
    pub run: String,
    /// The step.
    pub step: String,
    /// The fencing token.
    pub token: u64,
}

impl Worker {
    /// Starts `weft worker --daemon url` with `args` added.
    pub fn start(url: &str, args: &[&str]) -> Self {
        Self::start_with_token(url, args, None)
    }

    /// [`Worker::start`] with `WEFT_TOKEN` set to `token`.
    pub fn start_with_token(url: &str, args: &[&str], token: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
        match token {
            Some(token) => command.env("WEFT_TOKEN", token),
            None => command.env_remove("WEFT_TOKEN"),
        };
        let mut child = command
            .args(["worker", "--daemon", url])
            .args(args)
            .env("WEFT_COMPONENT_CACHE", component_cache_dir())
            .env_remove("WEFT_DAEMON")
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
        }
    }

    /// Waits (up to `within`) for a stderr line containing `needle`.
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
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
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {needle:?} within {within:?}; seen: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("worker exited before {needle:?}; seen: {:#?}", self.seen)
                }
            }
        }
    }

    /// Waits for the next "leased task" line and parses it.
    pub fn wait_for_lease(&mut self, within: Duration) -> Leased {
        let line = self.wait_for_line(" leased task ", within);
        parse_lease(&line).unwrap_or_else(|| panic!("unparsable lease line {line:?}"))
    }

    /// Sends `signal` (e.g. "-KILL", "-TERM").
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits for the process to end; then every remaining stderr line is in
    /// `seen`.
    pub fn wait(&mut self) -> ExitStatus {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        status
    }

    /// The leases in the lines seen so far.
    pub fn leases(&self) -> Vec<Leased> {
        self.seen.iter().filter_map(|l| parse_lease(l)).collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `weft worker: OWNER leased task 12 (run R, step S, attempt 1, token 99)`.
fn parse_lease(line: &str) -> Option<Leased> {
    let rest = line.split(" leased task ").nth(1)?;
    let (task, rest) = rest.split_once(" (run ")?;
    let (run, rest) = rest.split_once(", step ")?;
    let (step, rest) = rest.split_once(", attempt ")?;
    let token = rest.split(", token ").nth(1)?.trim_end_matches(')');
    Some(Leased {
        task: task.parse().ok()?,
        run: run.to_owned(),
        step: step.to_owned(),
        token: token.parse().ok()?,
    })
}
