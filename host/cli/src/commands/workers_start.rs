//! `weft workers start -n N | --min A --max B`: the supervisor. It runs `weft
//! worker` child processes against one daemon, writes a PID file and a status
//! file, restarts a child that dies (doubling back-off,
//! `weft_workers_restarts_total`), and with `--min/--max` applies the scaling
//! rule of [`super::workers_scale`] to the daemon's queue every
//! `--scale-interval`, logging each decision and counting it in
//! `weft_workers_scale_decisions_total`. On SIGTERM/SIGINT it sends every child
//! SIGTERM (each drains its running tasks), waits for them, removes its files
//! and exits.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use std::process::Child;

use super::workers_children::{Slot, Spawner, drain};
use super::workers_ctl::{SupervisorStatus, claim_pid_file, release, write_status};
use super::workers_metrics::{SupervisorMetrics, read_queue, serve};
use super::workers_scale::{Decision, ScaleMemory, ScaleRule, decide};
use crate::cli::WorkersStartArgs;
use crate::client::http::needs_daemon;

/// How often the children are checked on.
const TICK: Duration = Duration::from_millis(200);

/// Everything the supervisor keeps.
struct Supervisor {
    spawner: Spawner,
    slots: Vec<Slot>,
    retiring: Vec<Child>,
    metrics: Arc<SupervisorMetrics>,
    status: SupervisorStatus,
}

pub(crate) async fn run(args: WorkersStartArgs) -> Result<ExitCode> {
    let daemon = args
        .daemon
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| needs_daemon("weft workers start", ""))?
        .to_owned();
    let rule = scale_rule(&args)?;
    let instance = args.instance_id.clone().unwrap_or_else(host_name);
    let metrics = Arc::new(SupervisorMetrics::new(&instance)?);
    if let Some(addr) = &args.metrics_listen {
        serve(addr, Arc::clone(&metrics)).await?;
    }
    let mut worker_args = vec![
        "--concurrency".to_owned(),
        args.concurrency.max(1).to_string(),
        "--drain-grace".to_owned(),
        format!("{}ms", args.drain_grace.as_millis()),
    ];
    worker_args.extend(args.worker_args.iter().cloned());
    let spawner = Spawner {
        exe: std::env::current_exe().context("cannot find the weft executable")?,
        daemon: daemon.clone(),
        instance: instance.clone(),
        args: worker_args,
        backoff: args.restart_backoff,
        backoff_max: args.restart_backoff_max.max(args.restart_backoff),
    };
    let initial = args.count.unwrap_or(rule.min);
    let mode = match args.count {
        Some(n) => format!("fixed {n}"),
        None => format!("auto {}..={}", rule.min, rule.max),
    };
    claim_pid_file(&args.pid.pid_file)?;
    let mut sup = Supervisor {
        spawner,
        slots: Vec::new(),
        retiring: Vec::new(),
        metrics,
        status: SupervisorStatus {
            pid: std::process::id(),
            daemon,
            instance,
            mode,
            desired: initial,
            restarts_total: 0,
            last_decision: None,
            draining: 0,
            workers: Vec::new(),
        },
    };
    let outcome = supervise(&mut sup, &args, args.count.is_none().then_some(rule)).await;
    // Drain whatever runs, also when supervising failed.
    let mut children = std::mem::take(&mut sup.retiring);
    children.extend(sup.slots.drain(..).filter_map(Slot::retire));
    let grace = args.drain_grace + Duration::from_secs(5);
    eprintln!(
        "weft workers: draining {} worker(s) (up to {}s)",
        children.len(),
        grace.as_secs()
    );
    let (clean, total) = drain(children, grace).await;
    release(&args.pid.pid_file);
    eprintln!("weft workers: {clean} of {total} worker(s) drained cleanly; stopped");
    outcome?;
    Ok(if clean == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs until SIGTERM/SIGINT (Ok) or a failure to start a worker (Err).
async fn supervise(
    sup: &mut Supervisor,
    args: &WorkersStartArgs,
    rule: Option<ScaleRule>,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    sup.resize(sup.status.desired)?;
    eprintln!(
        "weft workers: supervisor {} ({}) runs {} worker(s) for {} ({})",
        sup.status.pid,
        sup.status.instance,
        sup.slots.len(),
        sup.status.daemon,
        sup.status.mode
    );
    sup.publish(&args.pid.pid_file);
    let mut memory = ScaleMemory::default();
    let mut next_scale = Instant::now() + args.scale.scale_interval;
    let started = Instant::now();
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            () = tokio::time::sleep(TICK) => {}
        }
        let mut changed = sup.tend();
        if let Some(rule) = &rule
            && Instant::now() >= next_scale
        {
            next_scale = Instant::now() + args.scale.scale_interval;
            let daemon = sup.status.daemon.clone();
            let reading = tokio::task::spawn_blocking(move || read_queue(&daemon)).await;
            match reading {
                Ok(Ok(sample)) => {
                    let now = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let (next, decision) = decide(rule, memory, sup.slots.len(), sample, now);
                    memory = next;
                    if let Decision::Scale { to, reason } = decision {
                        let from = sup.slots.len();
                        let direction = if to > from { "up" } else { "down" };
                        let line = format!("scale {direction} {from} -> {to}: {reason}");
                        eprintln!("weft workers: {line}");
                        sup.metrics.decisions.with_label_values(&[direction]).inc();
                        sup.status.last_decision = Some(format!("{} {line}", unix_secs()));
                        sup.resize(to)?;
                        changed = true;
                    }
                }
                Ok(Err(e)) => tracing::warn!("cannot read the daemon's queue: {e:#}"),
                Err(e) => tracing::warn!("cannot read the daemon's queue: {e}"),
            }
        }
        if changed {
            sup.publish(&args.pid.pid_file);
        }
    }
}

impl Supervisor {
    /// Starts or retires workers until `to` are wanted (the highest slots go
    /// first).
    fn resize(&mut self, to: usize) -> Result<()> {
        while self.slots.len() < to {
            let index = self.slots.len();
            self.slots.push(Slot::start(&self.spawner, index)?);
        }
        while self.slots.len() > to {
            if let Some(slot) = self.slots.pop() {
                let index = slot.index;
                if let Some(child) = slot.retire() {
                    eprintln!("weft workers: worker {index} retired (draining)");
                    self.retiring.push(child);
                }
            }
        }
        self.status.desired = to;
        Ok(())
    }

    /// Restarts dead workers, reaps drained ones; true if anything changed.
    fn tend(&mut self) -> bool {
        let mut changed = false;
        for slot in &mut self.slots {
            if let Some((line, restarted)) = slot.tend(&self.spawner) {
                eprintln!("weft workers: {line}");
                if restarted {
                    self.metrics.restarts.inc();
                    self.status.restarts_total += 1;
                }
                changed = true;
            }
        }
        let before = self.retiring.len();
        self.retiring
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
        changed || before != self.retiring.len()
    }

    /// Updates the gauges and the status file.
    fn publish(&mut self, pid_file: &std::path::Path) {
        let running = self.slots.iter().filter(|s| s.running()).count();
        self.metrics.desired.set(gauge(self.status.desired));
        self.metrics.running.set(gauge(running));
        self.status.draining = self.retiring.len();
        self.status.workers = self.slots.iter().map(|s| s.view().into()).collect();
        if let Err(e) = write_status(pid_file, &self.status) {
            tracing::warn!("{e:#}");
        }
    }
}

fn scale_rule(args: &WorkersStartArgs) -> Result<ScaleRule> {
    let (min, max) = match (args.count, args.min, args.max) {
        (Some(n), _, _) => (n, n),
        (None, Some(a), Some(b)) => (a, b),
        _ => bail!("give -n N, or --min A and --max B"),
    };
    if max < min || max == 0 {
        bail!("--max ({max}) must be at least --min ({min}) and above 0");
    }
    let s = &args.scale;
    if !(s.up_depth_per_slot.is_finite() && s.up_depth_per_slot > 0.0) {
        bail!("--up-depth-per-slot must be above 0");
    }
    Ok(ScaleRule {
        min,
        max,
        slots_per_worker: args.concurrency.max(1),
        up_depth_per_slot: s.up_depth_per_slot,
        up_lag: s.up_lag,
        up_after: s.up_after,
        down_after: s.down_after,
    })
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The host name, the default `instance` label.
pub(crate) fn host_name() -> String {
    weft_server::host_name()
}
