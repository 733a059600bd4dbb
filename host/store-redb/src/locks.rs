//! [`Store`] methods for the operators' locks (see `ops::lock`): a named mutex
//! with a time to live and a fencing token, for scripts and flows.

use crate::db::OrDb;
use redb::{ReadTransaction, ReadableTable};

use crate::ops::lock;
use crate::store::RedbStore;
use crate::tables::{self, decode};
use weft_store_api::{LockAcquire, LockRecord};
use weft_store_api::{LockStore, StoreError};

#[async_trait::async_trait]
impl LockStore for RedbStore {
    async fn lock_acquire(
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

    async fn lock_release(
        &self,
        key: &str,
        token: u64,
        now: u64,
    ) -> Result<LockRecord, StoreError> {
        let key = key.to_owned();
        self.write(move |t| lock::release(t, &key, token, now))
            .await
    }

    async fn locks_list(&self, now: u64) -> Result<Vec<LockRecord>, StoreError> {
        self.read(|rt| locks_list(rt, now))
    }

    async fn lock_get(&self, key: &str, now: u64) -> Result<Option<LockRecord>, StoreError> {
        lock::check_key(key)?;
        self.read(|rt| {
            let table = rt.open_table(tables::LOCKS).db()?;
            let lock: Option<LockRecord> = table
                .get(key)
                .db()?
                .map(|g| decode(g.value()))
                .transpose()?;
            Ok(lock.filter(|l| l.is_live(now)))
        })
    }
}

/// The live locks, by key.
fn locks_list(rt: &ReadTransaction, now: u64) -> Result<Vec<LockRecord>, StoreError> {
    let table = rt.open_table(tables::LOCKS).db()?;
    let mut out = Vec::new();
    for entry in table.iter().db()? {
        let lock: LockRecord = decode(entry.db()?.1.value())?;
        if lock.is_live(now) {
            out.push(lock);
        }
    }
    Ok(out)
}
