//! One reload of a flow folder: scan it, swap its good flows into the engine,
//! publish the outcome as a [`FlowStatus`] and log it.

use std::collections::BTreeMap;

use tokio::sync::watch;
use weft_flow::CompiledFlow;
use weft_store_api::{RunFilter, RunStatus};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::flow_folder::{FlowFileError, FlowFolder};

/// What a watched flow folder serves, as the API shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStatus {
    /// How many flow sets the engine has served: 1 for the one it started with,
    /// then one more at each successful swap. 0 when nothing watches a folder.
    pub generation: u64,
    /// Goes up whenever this status changes (a swap, or another set of
    /// errors): wait for it to pass a value to see the next change.
    pub revision: u64,
    /// When the current flow set was swapped in (engine clock, ms).
    pub reloaded_ms: u64,
    /// The files not served as they are on disk now, and a swap the engine
    /// refused; empty when every file serves as written.
    pub errors: Vec<FlowFileError>,
}

/// Reloads a folder into an engine and publishes each outcome.
pub(crate) struct Reloader {
    engine: Engine,
    folder: FlowFolder,
    status: watch::Sender<FlowStatus>,
}

impl Reloader {
    /// A reloader whose engine serves `folder`'s flows now (generation 1).
    pub fn new(engine: Engine, folder: FlowFolder) -> Self {
        let status = FlowStatus {
            generation: 1,
            revision: 1,
            reloaded_ms: engine.now_ms(),
            errors: Vec::new(),
        };
        Self {
            engine,
            folder,
            status: watch::Sender::new(status),
        }
    }

    /// A receiver of every status published from now on.
    pub fn subscribe(&self) -> watch::Receiver<FlowStatus> {
        self.status.subscribe()
    }

    /// Scans the folder; when the flows to serve differ from those served,
    /// swaps them in (or, when the engine refuses, records why and keeps the
    /// old ones). The status is published after the swap, so whoever sees a
    /// generation also sees its flows in the engine.
    pub async fn reload(&mut self) {
        let dir = self.folder.dir().display().to_string();
        // Reading the files may wait on the disk: not on a runtime thread.
        let folder = self.folder.clone();
        let scan = match tokio::task::spawn_blocking(move || folder.scan()).await {
            Ok(scan) => scan,
            Err(e) => {
                tracing::error!("flows folder {dir}: the scan ended abnormally: {e}");
                return;
            }
        };
        let mut errors = scan.errors();
        let before = self.folder.flows();
        let after = scan.flows();
        let mut swapped = false;
        if after == before {
            tracing::info!(
                "flows folder {dir} re-read: no flow changed ({} file(s) not served as written)",
                errors.len()
            );
            self.folder.commit(scan);
        } else {
            let changes = describe_changes(&before, &after);
            match self.engine.replace_flows(after).await {
                Ok(()) => {
                    self.folder.commit(scan);
                    swapped = true;
                    let generation = self.status.borrow().generation + 1;
                    tracing::info!(
                        "flows folder {dir} reloaded (generation {generation}): {changes}"
                    );
                    self.warn_about_removed(&before).await;
                    if let Err(e) = self.engine.prune_schedules().await {
                        tracing::error!(
                            "flows folder {dir}: removing the state of schedules no flow has any more: {e}"
                        );
                    }
                }
                Err(e) => {
                    let error = swap_error(&dir, &e);
                    tracing::error!(
                        "flows folder {dir}: the new flows ({changes}) were not swapped in: {e}"
                    );
                    errors.push(error);
                }
            }
        }
        for e in &errors {
            tracing::warn!("{} is not served as written:\n{}", e.file, e.message);
        }
        let now = self.engine.now_ms();
        self.status.send_if_modified(|status| {
            if !swapped && status.errors == errors {
                return false;
            }
            if swapped {
                status.generation += 1;
                status.reloaded_ms = now;
            }
            status.errors = errors;
            status.revision += 1;
            true
        });
    }

    /// Logs the unfinished runs of every flow of `before` that is no longer
    /// served: their next task is dead-lettered until the flow is back.
    async fn warn_about_removed(&self, before: &[CompiledFlow]) {
        for flow in before {
            if self.engine.flow(&flow.id).is_some() {
                continue;
            }
            let mut unfinished = 0;
            for status in [RunStatus::Queued, RunStatus::Running] {
                let filter = RunFilter {
                    tenant: None,
                    flow_id: Some(flow.id.clone()),
                    status: Some(status),
                    ..RunFilter::default()
                };
                unfinished += self
                    .engine
                    .store()
                    .runs_list(10_000, &filter)
                    .await
                    .map_or(0, |runs| runs.len());
            }
            if unfinished > 0 {
                tracing::warn!(
                    "flow `{}` is no longer served; the next task of each of its {unfinished} unfinished run(s) will be dead-lettered until the flow is back (then `weft dlq requeue` it)",
                    flow.id
                );
            }
        }
    }
}

/// The error of a swap the engine refused, on the file that references the
/// plugin that did not load (else on the folder).
fn swap_error(dir: &str, e: &EngineError) -> FlowFileError {
    let file = match e {
        EngineError::Plugin { referenced_at, .. } => referenced_at.file.clone(),
        _ => dir.to_owned(),
    };
    FlowFileError {
        file,
        message: format!("{e}\nno flow was swapped: the flows served before keep serving"),
    }
}

/// `added: a@1; changed: b@2; removed: c` (ids with their new version).
fn describe_changes(before: &[CompiledFlow], after: &[CompiledFlow]) -> String {
    let old: BTreeMap<&str, &CompiledFlow> = before.iter().map(|f| (f.id.as_str(), f)).collect();
    let new: BTreeMap<&str, &CompiledFlow> = after.iter().map(|f| (f.id.as_str(), f)).collect();
    let list = |ids: Vec<String>| ids.join(", ");
    let added = new
        .iter()
        .filter(|(id, _)| !old.contains_key(*id))
        .map(|(id, f)| format!("{id}@{}", f.version))
        .collect();
    let changed = new
        .iter()
        .filter(|(id, f)| old.get(*id).is_some_and(|o| o != *f))
        .map(|(id, f)| format!("{id}@{}", f.version))
        .collect();
    let removed = old
        .keys()
        .filter(|id| !new.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    let parts: Vec<String> = [("added", added), ("changed", changed), ("removed", removed)]
        .into_iter()
        .filter(|(_, ids): &(&str, Vec<String>)| !ids.is_empty())
        .map(|(what, ids)| format!("{what}: {}", list(ids)))
        .collect();
    if parts.is_empty() {
        "no flow changed".into()
    } else {
        parts.join("; ")
    }
}
