//! [`LockStore`]: the operators' named locks.

use crate::error::StoreError;
use crate::locks::{LockAcquire, LockRecord};

/// Named locks with a TTL and a fencing token each.
#[async_trait::async_trait]
pub trait LockStore: Send + Sync {
    /// Takes the lock `key` for `owner` until `now + ttl_ms` (durably). A free
    /// or expired lock gets a new fencing token, greater than every token
    /// handed out before; a lock `owner` already holds is renewed and keeps its
    /// token; a lock held by another owner is answered with
    /// [`LockAcquire::Held`]. A bad key, an empty owner or a zero TTL is
    /// [`StoreError::Invalid`].
    async fn lock_acquire(
        &self,
        key: &str,
        owner: &str,
        ttl_ms: u64,
        now: u64,
    ) -> Result<LockAcquire, StoreError>;

    /// Releases the lock `key` held with `token` (durably) and returns it.
    /// Refused with [`StoreError::LockNotHeld`] when it is not held at `now`
    /// (expired included), with [`StoreError::LockTokenMismatch`] for another
    /// token.
    async fn lock_release(&self, key: &str, token: u64, now: u64)
    -> Result<LockRecord, StoreError>;

    /// The locks held at `now`, by key; expired ones are left out.
    async fn locks_list(&self, now: u64) -> Result<Vec<LockRecord>, StoreError>;

    /// The lock `key` if it is held at `now`.
    async fn lock_get(&self, key: &str, now: u64) -> Result<Option<LockRecord>, StoreError>;
}
