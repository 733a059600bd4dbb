//! [`CopyStore`]: exporting a store's contents and importing them into
//! another backend (`weft store copy`).

use crate::copy::{RunExport, StoreExport};
use crate::error::StoreError;

/// Copying a store, run by run. A copy reads the source with
/// [`CopyStore::export_runs`] page by page and hands each run to the target's
/// [`CopyStore::import_run`] (one transaction per run), then moves what
/// belongs to no run with [`CopyStore::export_rest`] and
/// [`CopyStore::import_rest`].
///
/// Ledger events are copied verbatim (never hashed again), so every copied
/// run verifies to the same head on the target. The target appends its own
/// change-feed entry for each imported run.
#[async_trait::async_trait]
pub trait CopyStore: Send + Sync {
    /// Up to `limit` runs with ids after `after` (all from the first when
    /// `None`), in id order (bytewise), each with everything that belongs to
    /// it. Each run is read from one snapshot.
    async fn export_runs(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<RunExport>, StoreError>;

    /// Imports one run in one transaction. A run whose id the target already
    /// holds is a no-op when the target's export of it is byte-identical (a
    /// copy resumed after an interruption) and is refused with
    /// [`StoreError::Invalid`] otherwise; so is a task id the target already
    /// gives another run.
    async fn import_run(&self, run: RunExport) -> Result<(), StoreError>;

    /// Schedules, locks, costs, id sequences, overrides, non-run ledger
    /// streams and the id and token counters.
    async fn export_rest(&self) -> Result<StoreExport, StoreError>;

    /// Imports what [`CopyStore::export_rest`] gave, in one transaction:
    /// schedule states, locks, cost rows and day totals, overrides and
    /// streams replace the target's rows of the same key; id sequences and
    /// counters are raised to at least the copied values (never lowered), so
    /// new ids and tokens on the target never collide with copied ones.
    async fn import_rest(&self, rest: StoreExport) -> Result<(), StoreError>;
}
