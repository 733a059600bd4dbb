//! The global change feed: every ledger append of a run also appends
//! `(seq, run id)` to [`crate::tables::CHANGES`] in the same transaction, so a
//! reader that remembers the last seq it applied (the search index) can catch
//! up after any crash without ever slowing a commit down.

use redb::ReadableTable;

use crate::error::StoreError;
use crate::store::Store;
use crate::tables;

/// One entry of the change feed: the run whose ledger grew at `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Global, gap-free, increasing from 1.
    pub seq: u64,
    /// The run that changed.
    pub run_id: String,
}

impl Store {
    /// Up to `limit` changes with a seq greater than `after`, oldest first.
    /// A run that changed several times appears several times.
    pub fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::CHANGES)?;
            let mut out = Vec::new();
            for entry in table.range(after.saturating_add(1)..)? {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = entry?;
                out.push(Change {
                    seq: k.value(),
                    run_id: v.value().to_owned(),
                });
            }
            Ok(out)
        })
    }

    /// The seq of the newest change (0 when nothing has changed yet).
    pub fn change_head(&self) -> Result<u64, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::CHANGES)?;
            Ok(table.last()?.map_or(0, |(k, _)| k.value()))
        })
    }

    /// Every run id, oldest submission first (for rebuilding an index).
    pub fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::RUNS_BY_TIME)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                out.push(entry?.0.value().1.to_owned());
            }
            Ok(out)
        })
    }
}
