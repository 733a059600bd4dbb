//! [`Store`] methods for the operators' locks (see `ops::lock`): a named mutex
//! with a time to live and a fencing token, for scripts and flows.

use redb::{ReadTransaction, ReadableTable};

use crate::error::StoreError;
use crate::lock_types::{LockAcquire, LockRecord};
use crate::ops::lock;
use crate::store::Store;
use crate::tables::{self, decode};

impl Store {
    /// Takes the lock `key` for `owner` until `now + ttl_ms` (durably).
    /// A free or expired lock gets a new fencing token, greater than every
    /// token handed out before; a lock `owner` already holds is renewed and
    /// keeps its token; a lock held by another owner is answered with
    /// [`LockAcquire::Held`]. A bad key, an empty owner or a zero TTL is
    /// [`StoreError::Invalid`].
    pub async fn lock_acquire(
        &self,
        key: &str,
        owner: &str,
        ttl_ms: u64,
        now: u64,
    ) -> Result<LockAcquire, StoreError> {
        let (key, owner) = (key.to_owned(), owner.to_owned());
        self.write(move |t| lock::acquire(t, &key, &owner, ttl_ms, now))
            .await
    }

    /// Releases the lock `key` held with `token` (durably) and returns it.
    /// Refused with [`StoreError::LockNotHeld`] when it is not held at `now`
    /// (expired included), with [`StoreError::LockTokenMismatch`] for another
    /// token.
    pub async fn lock_release(
        &self,
        key: &str,
        token: u64,
        now: u64,
    ) -> Result<LockRecord, StoreError> {
        let key = key.to_owned();
        self.write(move |t| lock::release(t, &key, token, now))
            .await
    }

    /// The locks held at `now`, by key; expired ones are left out (the next
    /// acquire of any key removes them).
    pub fn locks_list(&self, now: u64) -> Result<Vec<LockRecord>, StoreError> {
        self.read(|rt| locks_list(rt, now))
    }

    /// The lock `key` if it is held at `now`.
    pub fn lock_get(&self, key: &str, now: u64) -> Result<Option<LockRecord>, StoreError> {
        lock::check_key(key)?;
        self.read(|rt| {
            let table = rt.open_table(tables::LOCKS)?;
            let lock: Option<LockRecord> =
                table.get(key)?.map(|g| decode(g.value())).transpose()?;
            Ok(lock.filter(|l| l.is_live(now)))
        })
    }
}

/// The live locks, by key.
fn locks_list(rt: &ReadTransaction, now: u64) -> Result<Vec<LockRecord>, StoreError> {
    let table = rt.open_table(tables::LOCKS)?;
    let mut out = Vec::new();
    for entry in table.iter()? {
        let lock: LockRecord = decode(entry?.1.value())?;
        if lock.is_live(now) {
            out.push(lock);
        }
    }
    Ok(out)
}
