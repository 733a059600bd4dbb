//! `weft worker --daemon URL [--concurrency N] [--pools a,b] [--lease 30s]
//! [--drain-grace 30s]`: a stateless worker process. It leases tasks from the
//! daemon (long poll), runs their steps in its own sandbox, sends heartbeats,
//! and reports each result with the lease's fencing token.
//!
//! SIGTERM or SIGINT: it tells the daemon it is leaving (its waiting lease
//! requests end at once), takes no new task, lets the running ones finish
//! within `--drain-grace` and exits 0; tasks still running after the grace are
//! abandoned (exit 1) and come back when their leases expire. Killed outright,
//! it loses nothing either: its tasks come back the same way.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use tokio::sync::{Mutex, watch};
use weft_core::worker_protocol::LeaveRequest;
use weft_engine::LEASE_MS_RANGE;
use weft_runtime::{Runtime, RuntimeConfig};

use super::component_cache_dir;
use crate::cli::WorkerArgs;
use crate::client::http::{needs_daemon, token_from_env};
use crate::remote::api::WorkerApi;
use crate::remote::slot::{WorkerShared, run_slot};

/// How long one lease request waits for a task before asking again.
const POLL: Duration = Duration::from_secs(20);

pub(crate) async fn run(args: WorkerArgs) -> Result<ExitCode> {
    let url = args
        .daemon
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| needs_daemon("weft worker", ""))?;
    let lease_ms = u64::try_from(args.lease.as_millis()).unwrap_or(u64::MAX);
    let (min, max) = LEASE_MS_RANGE;
    if !(min..=max).contains(&lease_ms) {
        bail!(
            "--lease must be between {}s and {}m (got {lease_ms} ms): the daemon refuses other leases",
            min / 1000,
            max / 60_000
        );
    }
    let api = Arc::new(WorkerApi::new(url, token_from_env()));
    let concurrency = args.concurrency.max(1);
    let shared = Arc::new(WorkerShared {
        api: Arc::clone(&api),
        runtime: worker_runtime(concurrency)?,
        plugins: Mutex::new(HashMap::new()),
        worker_id: worker_id(args.instance_id.as_deref()),
        pools: args.pools.clone(),
        lease_ms,
        poll_ms: u64::try_from(POLL.as_millis()).unwrap_or(u64::MAX),
    });
    let shutdown = super::daemon::ShutdownSignal::install()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut slots = tokio::task::JoinSet::new();
    for index in 0..concurrency {
        slots.spawn(run_slot(Arc::clone(&shared), index, stop_rx.clone()));
    }
    let pools = args
        .pools
        .as_ref()
        .map_or_else(|| "every pool".to_owned(), |p| p.join(","));
    eprintln!(
        "weft worker {} working for {} ({concurrency} slots, {pools})",
        shared.worker_id,
        api.url()
    );

    shutdown.wait().await;
    eprintln!(
        "weft worker: stopping: no new tasks; running ones get {}s to finish",
        args.drain_grace.as_secs()
    );
    let _ = stop_tx.send(true);
    let leave = LeaveRequest {
        worker: shared.worker_id.clone(),
    };
    if let Err(e) = api
        .post::<_, serde_json::Value>("/v1/worker/leave", &leave, None)
        .await
    {
        tracing::warn!("could not tell the daemon this worker is leaving: {e}");
    }
    let drained = tokio::time::timeout(args.drain_grace, async {
        while slots.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "weft worker: {} slot(s) still busy after the drain grace; their tasks come back \
             when their leases expire",
            slots.len()
        );
        slots.abort_all();
        return Ok(ExitCode::FAILURE);
    }
    eprintln!("weft worker: drained, exiting");
    Ok(ExitCode::SUCCESS)
}

/// The local sandbox: compiled components cached in the standalone commands'
/// cache ([`component_cache_dir`]); room for two instances per slot.
fn worker_runtime(concurrency: usize) -> Result<Runtime> {
    let defaults = RuntimeConfig::default();
    let per_slots = u32::try_from(concurrency.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .saturating_add(16);
    Runtime::new(RuntimeConfig {
        cache_dir: component_cache_dir(),
        max_live_instances: defaults.max_live_instances.max(per_slots),
        ..defaults
    })
    .context("could not set up the Wasm runtime")
}

/// `<instance or host>-<pid>-<start ms>`: unique per process, readable in leases.
fn worker_id(instance: Option<&str>) -> String {
    let host = instance
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map_or_else(super::workers_start::host_name, str::to_owned);
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{host}-{}-{started}", std::process::id())
}
