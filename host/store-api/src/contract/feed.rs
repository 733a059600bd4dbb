//! [`ChangeFeed`]: the runs whose ledger grew, in commit order.

use crate::error::StoreError;
use crate::views::Change;

/// Every ledger append of a run also appends `(seq, run id)` to the change
/// feed in the same transaction, so a reader that remembers the last seq it
/// applied (a search index) catches up after any crash without slowing a
/// commit down.
#[async_trait::async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Up to `limit` changes with a seq greater than `after`, oldest first. A
    /// run that changed several times appears several times.
    async fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<Change>, StoreError>;

    /// The seq of the newest change (0 when nothing has changed yet).
    async fn change_head(&self) -> Result<u64, StoreError>;
}
