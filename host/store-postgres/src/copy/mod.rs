//! [`CopyStore`] on PostgreSQL: an export page is one read-only snapshot;
//! each import is one write transaction (`write_tx!`, run again on a
//! retryable abort: a racing import of the same run then finds it and
//! compares).

mod export;
mod import;

use weft_store_api::{CopyStore, RunExport, StoreError, StoreExport};

use crate::store::PgStore;
use crate::tx::{read_tx, write_tx};

#[async_trait::async_trait]
impl CopyStore for PgStore {
    async fn export_runs(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<RunExport>, StoreError> {
        read_tx!(self, t => export::runs(&t, after.as_deref(), limit).await)
    }

    async fn import_run(&self, run: RunExport) -> Result<(), StoreError> {
        write_tx!(self, t => import::import_run(&t, &run).await)
    }

    async fn export_rest(&self) -> Result<StoreExport, StoreError> {
        read_tx!(self, t => export::rest(&t).await)
    }

    async fn import_rest(&self, rest: StoreExport) -> Result<(), StoreError> {
        write_tx!(self, t => import::import_rest(&t, &rest).await)
    }
}
