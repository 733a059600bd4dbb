//! Ends of runs that another process made, for `GET /v1/runs/{id}?wait=`.
//!
//! A waiter hears of a run's end from this daemon's engine (its run-finished
//! event). With several daemons on one database, the run may end on another
//! daemon's worker, and nothing in this process says so: the waiter would sit
//! out its whole `wait`. So on a store whose commits include other processes'
//! ([`weft_store_api::Store::commits_include_other_processes`]), one follower
//! per daemon reads the change feed after each change of the store's commits
//! watch, reads the runs that someone waits for among those that changed, and
//! tells their waiters when one is final. It starts with the first such wait
//! and reads nothing for runs that nobody waits for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{OnceCell, broadcast};
use weft_store_api::SharedStore;

/// Changes read at once from the feed.
const BATCH: usize = 1_000;
/// The pause after a failed read of the feed, before reading again.
const RETRY: Duration = Duration::from_millis(500);

/// The runs being waited for, and the channel that names those that ended.
#[derive(Debug)]
pub(crate) struct RunEnds {
    waited: Mutex<HashMap<String, usize>>,
    ended: broadcast::Sender<String>,
    follower: OnceCell<()>,
}

impl Default for RunEnds {
    fn default() -> Self {
        Self {
            waited: Mutex::default(),
            ended: broadcast::channel(256).0,
            follower: OnceCell::new(),
        }
    }
}

/// One waiter's registration; dropping it withdraws the run from the follower.
pub(crate) struct Waiting {
    ends: Arc<RunEnds>,
    run: String,
    /// Names of runs that ended in another process.
    pub(crate) ended: broadcast::Receiver<String>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut waited = self.ends.waited();
        if let Some(n) = waited.get_mut(&self.run) {
            *n -= 1;
            if *n == 0 {
                waited.remove(&self.run);
            }
        }
    }
}

impl RunEnds {
    fn waited(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.waited.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a wait for `run`; `None` on a store that only this process
    /// writes (the engine's events say everything). Call it before reading the
    /// run: an end committed after that read reaches the returned receiver.
    pub(crate) async fn wait_for(
        self: &Arc<Self>,
        store: &SharedStore,
        run: &str,
    ) -> Option<Waiting> {
        if !store.commits_include_other_processes() {
            return None;
        }
        let waiting = Waiting {
            ends: Arc::clone(self),
            run: run.to_owned(),
            ended: self.ended.subscribe(),
        };
        *self.waited().entry(run.to_owned()).or_default() += 1;
        // The follower's starting point is read before this waiter reads its
        // run, so every end after that read has a later seq.
        let started = self
            .follower
            .get_or_try_init(|| start_follower(Arc::downgrade(self), store.clone()))
            .await;
        if let Err(e) = started {
            tracing::warn!("cannot follow the change feed for waits: {e}");
        }
        Some(waiting)
    }
}

/// Reads the feed's head and spawns the follower from there.
async fn start_follower(
    ends: Weak<RunEnds>,
    store: SharedStore,
) -> Result<(), weft_store_api::StoreError> {
    let head = store.change_head().await?;
    tokio::spawn(follow(ends, store, head));
    Ok(())
}

/// After each change of the commits watch: the feed past `last`, and the waited
/// runs among its runs that are final now. Ends with the daemon's state.
async fn follow(ends: Weak<RunEnds>, store: SharedStore, mut last: u64) {
    let mut commits = store.commits();
    loop {
        match read_past(&ends, &store, last).await {
            Ok(Some(seq)) => last = seq,
            Ok(None) => return,
            Err(e) => {
                if ends.strong_count() == 0 {
                    return;
                }
                tracing::warn!("cannot read the change feed for waits: {e}");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        }
        if commits.changed().await.is_err() {
            return;
        }
    }
}

/// Reads every change past `last` and announces the waited runs that ended;
/// the new `last`, or `None` once nobody can wait any more.
async fn read_past(
    ends: &Weak<RunEnds>,
    store: &SharedStore,
    mut last: u64,
) -> Result<Option<u64>, weft_store_api::StoreError> {
    loop {
        let changes = store.changes_since(last, BATCH).await?;
        let Some(ends) = ends.upgrade() else {
            return Ok(None);
        };
        let mut runs: Vec<&str> = {
            let waited = ends.waited();
            changes
                .iter()
                .map(|c| c.run_id.as_str())
                .filter(|run| waited.contains_key(*run))
                .collect()
        };
        runs.sort_unstable();
        runs.dedup();
        for run in runs {
            if let Some(record) = store.run_get(run).await?
                && record.status.is_final()
            {
                // No receiver: the waiter went away meanwhile.
                let _ = ends.ended.send(run.to_owned());
            }
        }
        let Some(newest) = changes.last() else {
            return Ok(Some(last));
        };
        last = newest.seq;
        if changes.len() < BATCH {
            return Ok(Some(last));
        }
    }
}
