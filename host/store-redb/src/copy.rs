//! [`CopyStore`] on redb: exports read one snapshot; each import is one
//! write job (one transaction) in the writer.

use weft_store_api::{CopyStore, RunExport, StoreError, StoreExport};

use crate::copy_export;
use crate::ops::import;
use crate::store::RedbStore;

#[async_trait::async_trait]
impl CopyStore for RedbStore {
    async fn export_runs(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<RunExport>, StoreError> {
        self.read(|rt| copy_export::runs(rt, after.as_deref(), limit))
    }

    async fn import_run(&self, run: RunExport) -> Result<(), StoreError> {
        let existing = self.read(|rt| copy_export::run(rt, run.id()))?;
        if let Some(existing) = existing {
            return run.check_resumed(&existing);
        }
        self.write(move |t| import::import_run(t, &run)).await
    }

    async fn export_rest(&self) -> Result<StoreExport, StoreError> {
        self.read(copy_export::rest)
    }

    async fn import_rest(&self, rest: StoreExport) -> Result<(), StoreError> {
        self.write(move |t| import::import_rest(t, &rest)).await
    }
}
