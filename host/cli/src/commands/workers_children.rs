//! The supervisor's `weft worker` processes: one [`Slot`] per wanted worker,
//! spawned as a child process, restarted with a doubling back-off when it dies;
//! and the retiring ones, sent SIGTERM and drained.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use std::process::{Child, Command};

/// A worker that ran at least this long before dying starts its back-off over.
const HEALTHY_RUN: Duration = Duration::from_secs(30);

/// How every worker is started.
#[derive(Debug, Clone)]
pub(crate) struct Spawner {
    /// This executable (`weft`).
    pub exe: PathBuf,
    /// The daemon's URL.
    pub daemon: String,
    /// The supervisor's instance; worker N is `<instance>-N`.
    pub instance: String,
    /// Every argument after `weft worker --daemon URL --instance-id ID`.
    pub args: Vec<String>,
    /// The first restart back-off.
    pub backoff: Duration,
    /// The longest restart back-off.
    pub backoff_max: Duration,
}

impl Spawner {
    fn spawn(&self, index: usize) -> Result<Child> {
        Command::new(&self.exe)
            .args(["worker", "--daemon", &self.daemon, "--instance-id"])
            .arg(format!("{}-{index}", self.instance))
            .args(&self.args)
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {} worker", self.exe.display()))
    }
}

/// One wanted worker: its process (or when it will be started again).
pub(crate) struct Slot {
    /// 0, 1, 2…: its place, and its instance suffix.
    pub index: usize,
    child: Option<Child>,
    started: Instant,
    /// Times its process died and was started again.
    pub restarts: u64,
    deaths_in_row: u32,
    restart_at: Option<Instant>,
}

/// What `weft workers status` shows of a slot.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SlotView {
    /// The slot's index.
    pub slot: usize,
    /// Its process, when one runs.
    pub pid: Option<u32>,
    /// Restarts so far.
    pub restarts: u64,
    /// `running` or `restarting`.
    pub state: &'static str,
}

impl Slot {
    /// Starts slot `index`'s worker.
    pub(crate) fn start(spawner: &Spawner, index: usize) -> Result<Self> {
        Ok(Self {
            index,
            child: Some(spawner.spawn(index)?),
            started: Instant::now(),
            restarts: 0,
            deaths_in_row: 0,
            restart_at: None,
        })
    }

    /// Notices a dead worker (scheduling its restart) and restarts one whose
    /// back-off is over; returns a line for the log when something happened,
    /// and whether it was a restart.
    pub(crate) fn tend(&mut self, spawner: &Spawner) -> Option<(String, bool)> {
        let now = Instant::now();
        if let Some(child) = &mut self.child {
            let pid = child.id();
            let status = match child.try_wait() {
                Ok(Some(status)) => status,
                Ok(None) => return None,
                Err(e) => return Some((format!("cannot watch worker {pid}: {e}"), false)),
            };
            self.child = None;
            if now.duration_since(self.started) >= HEALTHY_RUN {
                self.deaths_in_row = 0;
            }
            let factor = 2u32.saturating_pow(self.deaths_in_row.min(16));
            let wait = spawner
                .backoff
                .saturating_mul(factor)
                .min(spawner.backoff_max);
            self.deaths_in_row = self.deaths_in_row.saturating_add(1);
            self.restart_at = Some(now + wait);
            let line = format!(
                "worker {} (pid {pid}) exited ({status}); restarting in {:.1}s",
                self.index,
                wait.as_secs_f64()
            );
            return Some((line, false));
        }
        if self.restart_at.is_some_and(|at| at <= now) {
            match spawner.spawn(self.index) {
                Ok(child) => {
                    let pid = child.id();
                    self.child = Some(child);
                    self.started = now;
                    self.restart_at = None;
                    self.restarts += 1;
                    let line = format!("worker {} restarted (pid {pid})", self.index);
                    return Some((line, true));
                }
                Err(e) => {
                    self.restart_at = Some(now + spawner.backoff_max);
                    return Some((format!("{e:#}"), false));
                }
            }
        }
        None
    }

    /// Whether its process runs.
    pub(crate) fn running(&self) -> bool {
        self.child.is_some()
    }

    /// For `weft workers status`.
    pub(crate) fn view(&self) -> SlotView {
        SlotView {
            slot: self.index,
            pid: self.child.as_ref().map(Child::id),
            restarts: self.restarts,
            state: if self.child.is_some() {
                "running"
            } else {
                "restarting"
            },
        }
    }

    /// Sends its worker SIGTERM (it drains) and hands its process over, to be
    /// waited for.
    pub(crate) fn retire(mut self) -> Option<Child> {
        let child = self.child.take()?;
        terminate(child.id());
        Some(child)
    }
}

/// Sends SIGTERM to `pid`; false if it could not be sent (e.g. it is gone).
pub(crate) fn terminate(pid: u32) -> bool {
    use rustix::process::{Pid, Signal, kill_process};
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|pid| kill_process(pid, Signal::TERM).is_ok())
}

/// Waits for `children` to exit, up to `grace`, then kills the rest; returns
/// how many exited on their own with success, and how many there were.
pub(crate) async fn drain(mut children: Vec<Child>, grace: Duration) -> (usize, usize) {
    let total = children.len();
    let mut clean = 0;
    let deadline = Instant::now() + grace;
    while !children.is_empty() && Instant::now() < deadline {
        children.retain_mut(|child| match child.try_wait() {
            Ok(Some(status)) => {
                clean += usize::from(status.success());
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    (clean, total)
}
