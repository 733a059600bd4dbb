//! The supervisor's PID file and status file (`<pid file>` with `.json`), and
//! `weft workers stop` and `weft workers status`, which read them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::state::print_json;
use super::workers_children::{SlotView, terminate};
use crate::cli::{WorkersStatusArgs, WorkersStopArgs};

/// What the supervisor writes to its status file on every change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SupervisorStatus {
    /// The supervisor's pid.
    pub pid: u32,
    /// The daemon's URL.
    pub daemon: String,
    /// Its `instance` label.
    pub instance: String,
    /// `fixed N` or `auto A..=B`.
    pub mode: String,
    /// Workers wanted now.
    pub desired: usize,
    /// Restarts of dead workers so far.
    pub restarts_total: u64,
    /// The last scaling decision, for the log reader.
    pub last_decision: Option<String>,
    /// Workers sent SIGTERM and still draining.
    pub draining: usize,
    /// The wanted workers.
    pub workers: Vec<SlotStatus>,
}

/// A wanted worker, as the status file keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SlotStatus {
    /// Its slot.
    pub slot: usize,
    /// Its process, when one runs.
    pub pid: Option<u32>,
    /// Restarts so far.
    pub restarts: u64,
    /// `running` or `restarting`.
    pub state: String,
}

impl From<SlotView> for SlotStatus {
    fn from(v: SlotView) -> Self {
        Self {
            slot: v.slot,
            pid: v.pid,
            restarts: v.restarts,
            state: v.state.to_owned(),
        }
    }
}

/// The status file beside `pid_file`.
pub(crate) fn status_path(pid_file: &Path) -> PathBuf {
    pid_file.with_extension("json")
}

/// Whether process `pid` is alive (a zombie, exited but not yet waited for by
/// its parent, is not).
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S …`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Writes the PID file, refusing one that names a live supervisor.
pub(crate) fn claim_pid_file(path: &Path) -> Result<()> {
    if let Some(pid) = read_pid(path)?
        && alive(pid)
    {
        bail!(
            "{} names a running supervisor (pid {pid}): stop it first (`weft workers stop`)",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(path, format!("{}\n", std::process::id()).as_bytes())
}

/// Writes the status file beside `pid_file`.
pub(crate) fn write_status(pid_file: &Path, status: &SupervisorStatus) -> Result<()> {
    let json = serde_json::to_vec_pretty(status)?;
    write_atomic(&status_path(pid_file), &json)
}

/// Removes the PID and status files (the supervisor is done).
pub(crate) fn release(pid_file: &Path) {
    let _ = std::fs::remove_file(status_path(pid_file));
    let _ = std::fs::remove_file(pid_file);
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn read_pid(path: &Path) -> Result<Option<u32>> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("{} does not hold a pid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `weft workers stop`: SIGTERM to the supervisor, then wait until it is gone.
pub(crate) async fn stop(args: WorkersStopArgs) -> Result<ExitCode> {
    let path = &args.pid.pid_file;
    let Some(pid) = read_pid(path)?.filter(|pid| alive(*pid)) else {
        eprintln!("weft workers: no supervisor runs ({})", path.display());
        return Ok(ExitCode::SUCCESS);
    };
    if !terminate(pid) {
        bail!("cannot signal the supervisor (pid {pid})");
    }
    eprintln!("weft workers: asked supervisor {pid} to drain its workers");
    let deadline = Instant::now() + args.timeout;
    while alive(pid) && path.exists() {
        if Instant::now() >= deadline {
            eprintln!(
                "weft workers: supervisor {pid} still runs after {}s",
                args.timeout.as_secs()
            );
            return Ok(ExitCode::FAILURE);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("weft workers: supervisor {pid} stopped");
    Ok(ExitCode::SUCCESS)
}

/// `weft workers status`.
pub(crate) fn status(args: WorkersStatusArgs) -> Result<ExitCode> {
    let path = &args.pid.pid_file;
    let running = read_pid(path)?.filter(|pid| alive(*pid));
    let file = status_path(path);
    let status: Option<SupervisorStatus> = match (running, std::fs::read(&file)) {
        (Some(_), Ok(bytes)) => Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a status file", file.display()))?,
        ),
        _ => None,
    };
    if args.json {
        print_json(&serde_json::to_value(&status)?)?;
    } else if let Some(s) = &status {
        println!(
            "supervisor {} ({}) for {}: {}, {} wanted, {} restarts, {} draining",
            s.pid, s.instance, s.daemon, s.mode, s.desired, s.restarts_total, s.draining
        );
        for w in &s.workers {
            let pid = w.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
            println!(
                "  worker {:>2}  pid {pid:>7}  {:<10}  {} restarts",
                w.slot, w.state, w.restarts
            );
        }
        if let Some(d) = &s.last_decision {
            println!("last decision: {d}");
        }
    } else {
        println!("no supervisor runs ({})", path.display());
    }
    Ok(if status.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
