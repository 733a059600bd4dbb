//! Watching a folder of flow files (notify) and reloading it into the engine
//! when it changes.
//!
//! Events come in bursts (an editor writes a temp file and renames it; a
//! `git checkout` rewrites several files), so a reload starts once no event
//! came for [`RELOAD_QUIET`], or [`RELOAD_MAX_DELAY`] after the first event of
//! a burst that does not stop. Events about other files than `.yaml`/`.yml`
//! ones, and mere reads (the reload's own), start nothing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::flow_folder::FlowFolder;
use crate::flow_reload::{FlowStatus, Reloader};

/// How long the folder must stay quiet after an event before it is reloaded.
pub const RELOAD_QUIET: Duration = Duration::from_millis(200);
/// The longest a reload waits after the first event of a burst.
pub const RELOAD_MAX_DELAY: Duration = Duration::from_secs(2);

/// A folder being watched, its events kept until [`FolderEvents::serve`]
/// reloads on them. Start watching before the first scan, so that no change
/// between the scan and the start of the reloads is missed.
pub struct FolderEvents {
    watcher: RecommendedWatcher,
    changed: Arc<Notify>,
}

impl std::fmt::Debug for FolderEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderEvents").finish_non_exhaustive()
    }
}

impl FolderEvents {
    /// Starts watching the files directly in `dir`.
    pub fn watch(dir: &Path) -> Result<Self, EngineError> {
        if !dir.is_dir() {
            return Err(EngineError::NoFlowsFolder(dir.to_owned()));
        }
        let changed = Arc::new(Notify::new());
        let signal = Arc::clone(&changed);
        let watched = dir.to_owned();
        let handler = move |event: notify::Result<Event>| match event {
            Ok(event) => {
                if is_relevant(&event, &watched) {
                    signal.notify_one();
                }
            }
            Err(e) => {
                // An event may have been lost: look at the folder again.
                tracing::warn!("watching the flows folder {}: {e}", watched.display());
                signal.notify_one();
            }
        };
        let watch_error = |source| EngineError::Watch {
            dir: dir.to_owned(),
            source,
        };
        let mut watcher = notify::recommended_watcher(handler).map_err(watch_error)?;
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(watch_error)?;
        Ok(Self { watcher, changed })
    }

    /// Reloads `folder` into `engine` after each burst of events, until
    /// [`FlowWatcher::shutdown`]. `engine` must serve `folder`'s flows now.
    /// Must be called within a tokio runtime.
    pub fn serve(self, engine: Engine, folder: FlowFolder) -> FlowWatcher {
        let reloader = Reloader::new(engine, folder);
        let status = reloader.subscribe();
        let (stop, stop_rx) = watch::channel(false);
        let handle = tokio::spawn(run(self, reloader, stop_rx));
        FlowWatcher {
            status,
            stop,
            handle,
        }
    }
}

/// The running reloads of a watched flow folder.
#[derive(Debug)]
pub struct FlowWatcher {
    status: watch::Receiver<FlowStatus>,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl FlowWatcher {
    /// The folder's status, updated after each reload that changed it.
    pub fn status(&self) -> watch::Receiver<FlowStatus> {
        self.status.clone()
    }

    /// Stops watching (after the reload it may be in) and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!("the flow folder watcher ended abnormally: {e}");
        }
    }
}

async fn run(events: FolderEvents, mut reloader: Reloader, mut stop: watch::Receiver<bool>) {
    // Dropping the watcher ends the watch: keep it for as long as this runs.
    let FolderEvents { watcher, changed } = events;
    let _watcher = watcher;
    loop {
        tokio::select! {
            () = changed.notified() => {}
            _ = stop.changed() => return,
        }
        if !settle(&changed, &mut stop).await {
            return;
        }
        reloader.reload().await;
    }
}

/// Waits until no event came for [`RELOAD_QUIET`] (at most
/// [`RELOAD_MAX_DELAY`]); false when asked to stop meanwhile.
async fn settle(changed: &Notify, stop: &mut watch::Receiver<bool>) -> bool {
    let deadline = Instant::now() + RELOAD_MAX_DELAY;
    loop {
        tokio::select! {
            () = changed.notified() => {
                if Instant::now() >= deadline {
                    return true;
                }
            }
            () = tokio::time::sleep(RELOAD_QUIET) => return true,
            _ = stop.changed() => return false,
        }
    }
}

/// Whether `event` may change what the folder `dir` serves: not a mere read,
/// and about a flow file or the folder itself.
fn is_relevant(event: &Event, dir: &Path) -> bool {
    if event.need_rescan() {
        return true;
    }
    let mutates = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    let about_flows = event.paths.is_empty()
        || event
            .paths
            .iter()
            .any(|p| p == dir || p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    mutates && about_flows
}
