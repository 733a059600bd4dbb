//! [`Store`] methods for idempotency keys (see `ops::idempotency`).

use redb::ReadableTableMetadata;

use crate::error::StoreError;
use crate::ops::idempotency;
use crate::store::Store;
use crate::tables;

impl Store {
    /// Removes at most `limit` idempotency keys that have run out at `now`,
    /// oldest first, in one transaction; returns how many. A purged key
    /// changes nothing a submit sees (an expired key is taken over anyway);
    /// it only keeps the table from growing. Call it again while it returns
    /// `limit`.
    pub async fn purge_idempotency(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        self.write(move |t| idempotency::purge_expired(t, now, limit))
            .await
    }

    /// The run idempotency key `key` names and until when (ms), expired or
    /// not, while the key is stored.
    pub fn idempotency_get(&self, key: &str) -> Result<Option<(String, u64)>, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::IDEMPOTENCY)?;
            Ok(table.get(key)?.map(|g| {
                let (run, expires_at) = g.value();
                (run.to_owned(), expires_at)
            }))
        })
    }

    /// How many idempotency keys are stored (expired ones not purged yet
    /// included).
    pub fn idempotency_count(&self) -> Result<u64, StoreError> {
        self.read(|rt| Ok(rt.open_table(tables::IDEMPOTENCY)?.len()?))
    }
}
