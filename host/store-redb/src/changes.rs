//! The global change feed: every ledger append of a run also appends
//! `(seq, run id)` to [`crate::tables::CHANGES`] in the same transaction, so a
//! reader that remembers the last seq it applied (the search index) can catch
//! up after any crash without ever slowing a commit down.

use redb::ReadableTable;

use weft_store_api::{Change, ChangeFeed, StoreError};

use crate::db::OrDb;
use crate::store::RedbStore;
use crate::tables;

#[async_trait::async_trait]
impl ChangeFeed for RedbStore {
    async fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::CHANGES).db()?;
            let mut out = Vec::new();
            for entry in table.range(after.saturating_add(1)..).db()? {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = entry.db()?;
                out.push(Change {
                    seq: k.value(),
                    run_id: v.value().to_owned(),
                });
            }
            Ok(out)
        })
    }

    async fn change_head(&self) -> Result<u64, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::CHANGES).db()?;
            Ok(table.last().db()?.map_or(0, |(k, _)| k.value()))
        })
    }
}
