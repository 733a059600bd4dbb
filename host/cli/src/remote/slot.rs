//! One worker slot of `weft worker`: lease a task (long poll), run its step
//! in the local sandbox while heartbeats keep the lease, report the result.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Mutex, watch};
use weft_core::worker_protocol::{
    CompleteRequest, FailRequest, HeartbeatRequest, HeartbeatResponse, LeaseRequest, LeaseResponse,
    RemoteTask, ReportResponse,
};
use weft_core::{PluginError, PluginKind, RunInfo, cap_text};
use weft_runtime::{CallContext, CallLimits, Plugin, Runtime};

use super::api::{ApiError, WorkerApi};
use super::step_host::RemoteStepHost;

/// The longest back-off after the daemon could not be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The most bytes of a failed attempt's error (and of its message) a worker
/// sends: the highest `limits.error_message_bytes` a daemon may have.
const MAX_ERROR_BYTES: usize = 16 * 1024 * 1024;

/// `error` with its message cut to [`MAX_ERROR_BYTES`].
fn cap_error(error: PluginError) -> PluginError {
    let cut = |m: String| cap_text(&m, MAX_ERROR_BYTES).into_owned();
    match error {
        PluginError::Transient(m) => PluginError::Transient(cut(m)),
        PluginError::Permanent(m) => PluginError::Permanent(cut(m)),
        PluginError::InvalidInput(m) => PluginError::InvalidInput(cut(m)),
    }
}

/// What every slot of one worker process shares.
pub(crate) struct WorkerShared {
    /// The daemon.
    pub api: Arc<WorkerApi>,
    /// The local sandbox.
    pub runtime: Runtime,
    /// Loaded step plugins by component SHA-256.
    pub plugins: Mutex<HashMap<String, Arc<Plugin>>>,
    /// This process's id (`<host>-<pid>-<start ms>`).
    pub worker_id: String,
    /// The pools leased from (every pool when `None`).
    pub pools: Option<Vec<String>>,
    /// The lease length asked for.
    pub lease_ms: u64,
    /// How long one lease request waits for a task.
    pub poll_ms: u64,
}

/// Runs slot `index` until `stop` is set; a task in hand is finished first.
pub(crate) async fn run_slot(shared: Arc<WorkerShared>, index: usize, stop: watch::Receiver<bool>) {
    let owner = format!("{}/{index}", shared.worker_id);
    let mut backoff = Duration::from_millis(200);
    let mut stop_wait = stop.clone();
    while !*stop.borrow() {
        let ask = LeaseRequest {
            worker: shared.worker_id.clone(),
            owner: owner.clone(),
            pools: shared.pools.clone(),
            lease_ms: shared.lease_ms,
            wait_ms: shared.poll_ms,
        };
        let timeout = Duration::from_millis(shared.poll_ms) + Duration::from_secs(15);
        let answer: Result<LeaseResponse, ApiError> = shared
            .api
            .post("/v1/worker/lease", &ask, Some(timeout))
            .await;
        match answer {
            Ok(LeaseResponse { task: Some(task) }) => {
                backoff = Duration::from_millis(200);
                run_task(&shared, &owner, task).await;
            }
            Ok(LeaseResponse { task: None }) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(%owner, "cannot lease: {e}");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop_wait.changed() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn run_task(shared: &WorkerShared, owner: &str, task: RemoteTask) {
    eprintln!(
        "weft worker: {owner} leased task {} (run {}, step {}, attempt {}, token {})",
        task.task, task.run, task.step, task.attempt, task.token
    );
    let started = Instant::now();
    let call = run_step(shared, &task);
    let Some(result) = with_heartbeats(shared, owner, &task, call).await else {
        eprintln!(
            "weft worker: {owner} lost the lease of task {} while its step ran; result dropped",
            task.task
        );
        return;
    };
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let path = |what: &str| format!("/v1/worker/tasks/{}/{what}", task.task);
    let report = match result {
        Ok(output) => {
            let body = CompleteRequest {
                token: task.token,
                output,
                elapsed_ms,
            };
            match send_report(shared, &path("complete"), &body).await {
                // Too large for the daemon: the attempt fails, recorded, so the
                // retry strategy decides instead of the lease running out.
                Err(ApiError::Refused { status: 413, .. }) => {
                    let message = format!(
                        "the step's output is larger than the daemon accepts from a worker \
                         ({} MiB)",
                        weft_core::worker_protocol::MAX_WORKER_BODY_BYTES / (1024 * 1024)
                    );
                    let body = FailRequest {
                        token: task.token,
                        error: PluginError::Permanent(message.clone()),
                        message,
                        elapsed_ms,
                    };
                    send_report(shared, &path("fail"), &body).await
                }
                other => other,
            }
        }
        Err((error, message)) => {
            // The daemon keeps at most `limits.error_message_bytes` (16 MiB at
            // most) of each; more would only risk the request's size cap.
            let body = FailRequest {
                token: task.token,
                error: cap_error(error),
                message: cap_text(&message, MAX_ERROR_BYTES).into_owned(),
                elapsed_ms,
            };
            send_report(shared, &path("fail"), &body).await
        }
    };
    match report {
        Ok(answer) => eprintln!(
            "weft worker: {owner} task {} {}{}",
            task.task,
            answer.outcome,
            if answer.run_finished {
                " (run finished)"
            } else {
                ""
            }
        ),
        Err(e) if e.is_conflict() => eprintln!(
            "weft worker: {owner} task {}: the daemon refused the result (lease lost): {e}",
            task.task
        ),
        Err(e) => eprintln!(
            "weft worker: {owner} task {}: result not recorded: {e}",
            task.task
        ),
    }
}

/// Sends a complete or fail report; retries while the daemon cannot be
/// reached, for as long as the lease could still be valid.
async fn send_report<B: serde::Serialize>(
    shared: &WorkerShared,
    path: &str,
    body: &B,
) -> Result<ReportResponse, ApiError> {
    let give_up = Instant::now() + Duration::from_millis(shared.lease_ms);
    let mut backoff = Duration::from_millis(100);
    loop {
        match shared.api.post(path, body, None).await {
            Err(e @ ApiError::Unreachable { .. }) if Instant::now() + backoff < give_up => {
                tracing::warn!("report not delivered, retrying: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            other => return other,
        }
    }
}

/// Runs the task's step plugin: its output, or the guest-visible error and
/// the full text.
async fn run_step(
    shared: &WorkerShared,
    task: &RemoteTask,
) -> Result<Value, (PluginError, String)> {
    let plugin = plugin_for(shared, task).await.map_err(|e| {
        let error = PluginError::Transient(e.clone());
        (error, e)
    })?;
    let host = RemoteStepHost::new(
        Arc::clone(&shared.api),
        task.task,
        task.token,
        Instant::now() + Duration::from_millis(task.timeout_ms),
    );
    let ctx = CallContext::new(CallLimits {
        timeout: Duration::from_millis(task.timeout_ms),
        ..CallLimits::default()
    })
    .with_step_host(Arc::new(host));
    let info = RunInfo {
        run_id: task.run.clone(),
        flow_id: task.flow.clone(),
        step_id: task.step.clone(),
        attempt: task.attempt,
        tenant: task.tenant.clone(),
    };
    let text = plugin
        .run_step(&ctx, &info, &task.config, &task.input)
        .await
        .map_err(|e| (e.to_plugin_error(), e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| {
        let error = PluginError::Permanent(format!("output is not JSON: {e}"));
        let text = error.to_string();
        (error, text)
    })
}

/// The task's plugin: loaded before, or fetched from the daemon by hash and
/// loaded (compiled, or taken from the component cache).
async fn plugin_for(shared: &WorkerShared, task: &RemoteTask) -> Result<Arc<Plugin>, String> {
    let mut plugins = shared.plugins.lock().await;
    if let Some(plugin) = plugins.get(&task.plugin_sha256) {
        return Ok(Arc::clone(plugin));
    }
    let bytes = shared
        .api
        .plugin(&task.plugin_sha256)
        .await
        .map_err(|e| format!("cannot fetch plugin `{}`: {e}", task.plugin))?;
    let plugin = shared
        .runtime
        .load(&task.plugin, &bytes, PluginKind::Step)
        .await
        .map_err(|e| format!("cannot load plugin `{}`: {e}", task.plugin))?;
    plugins.insert(task.plugin_sha256.clone(), Arc::clone(&plugin));
    Ok(plugin)
}

/// Runs `call` while a background task sends a heartbeat every third of the
/// lease. `None` when the daemon says the lease is lost (the call is dropped,
/// which stops the plugin).
async fn with_heartbeats<T>(
    shared: &WorkerShared,
    owner: &str,
    task: &RemoteTask,
    call: impl Future<Output = T>,
) -> Option<T> {
    let beat = HeartbeatRequest {
        owner: owner.to_owned(),
        token: task.token,
        lease_ms: shared.lease_ms,
    };
    let path = format!("/v1/worker/tasks/{}/heartbeat", task.task);
    let every = Duration::from_millis((shared.lease_ms / 3).max(100));
    let (lost_tx, mut lost) = watch::channel(false);
    let beats = tokio::spawn(send_heartbeats(
        Arc::clone(&shared.api),
        path,
        beat,
        every,
        lost_tx,
    ));
    let out = tokio::select! {
        out = call => Some(out),
        _ = lost.wait_for(|lost| *lost) => None,
    };
    beats.abort();
    out
}

async fn send_heartbeats(
    api: Arc<WorkerApi>,
    path: String,
    beat: HeartbeatRequest,
    every: Duration,
    lost: watch::Sender<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        match api.post::<_, HeartbeatResponse>(&path, &beat, None).await {
            Ok(_) => {}
            Err(e) if e.is_conflict() => {
                let _ = lost.send(true);
                return;
            }
            Err(e) => tracing::warn!(path, "heartbeat failed: {e}"),
        }
    }
}
