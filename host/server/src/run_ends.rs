//! Ends of runs that another process made, for `GET /v1/runs/{id}?wait=`.
//!
//! A waiter hears of a run's end from this daemon's engine (its run-finished
//! event). With several daemons on one database, the run may end on another
//! daemon's worker, and nothing in this process says so: the waiter would sit
//! out its whole `wait`. A store that can say which runs ended in any
//! process's commits ([`weft_store_api::Store::run_ends`]: PostgreSQL sends
//! the run's id with the commit's notification) tells the waiter too, with no
//! read of the store.

use tokio::sync::broadcast::error::RecvError;
use weft_store_api::SharedStore;

/// Returns once `store` says that `run` ended in some process; never on a
/// store that cannot say so. Subscribe (call it) before reading the run, so
/// that an end committed after that read is not missed.
pub(crate) fn ended_elsewhere(
    store: &SharedStore,
    run: &str,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let ends = store.run_ends();
    let (store, run) = (store.clone(), run.to_owned());
    async move {
        let Some(mut ends) = ends else {
            return std::future::pending().await;
        };
        loop {
            match ends.recv().await {
                Ok(ended) if ended == run => return,
                Ok(_) => {}
                // Too many ends at once: look at the run itself.
                Err(RecvError::Lagged(_)) => {
                    if let Ok(Some(record)) = store.run_get(&run).await
                        && record.status.is_final()
                    {
                        return;
                    }
                }
                Err(RecvError::Closed) => return std::future::pending().await,
            }
        }
    }
}
