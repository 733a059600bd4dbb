//! Run id numbers handed out in blocks. A run id carries the day's sequence
//! number of its prefix (`weft-2026-12-04-017-k3xq`); taking it from the
//! `day_seq` row inside each submit held that row locked through the
//! submit's commit, so submits waited for each other's disk writes. The
//! store now takes [`BLOCK`] numbers at once, in a short transaction of their
//! own, and hands them out from memory: numbers stay unique (the row says
//! the last one handed to any store, as before, so `weft store copy` keeps
//! its meaning) and grow within a daemon; across daemons they interleave, and
//! a daemon that stops leaves the rest of its block unused.

use std::collections::HashMap;

use weft_store_api::StoreError;

use crate::conv::{i, u};
use crate::store::PgStore;
use crate::tx::pg;

/// Numbers taken from `day_seq` at once.
pub(crate) const BLOCK: u64 = 32;

/// The numbers a store holds, per (prefix, day): the next one and the end.
#[derive(Debug, Default)]
pub(crate) struct RunSeqs {
    blocks: tokio::sync::Mutex<HashMap<(String, String), (u64, u64)>>,
}

impl PgStore {
    /// The next run number of `prefix` on `date` (UTC `YYYY-MM-DD`).
    pub(crate) async fn next_run_seq(&self, prefix: &str, date: &str) -> Result<u64, StoreError> {
        let mut blocks = self.run_seqs().blocks.lock().await;
        let key = (prefix.to_owned(), date.to_owned());
        if let Some((next, end)) = blocks.get_mut(&key)
            && *next < *end
        {
            *next += 1;
            return Ok(*next - 1);
        }
        // A day that is over needs its block no more.
        blocks.retain(|(_, day), _| day.as_str() >= date);
        let conn = self.client().await?;
        let row = conn
            .client
            .query_one(
                "INSERT INTO day_seq (prefix, day, seq) VALUES ($1, $2, $3) \
                 ON CONFLICT (prefix, day) DO UPDATE SET seq = day_seq.seq + $3 RETURNING seq",
                &[&prefix, &date, &i(BLOCK)],
            )
            .await
            .map_err(pg)?;
        let last = u(row.get(0));
        let first = last + 1 - BLOCK;
        blocks.insert(key, (first + 1, last + 1));
        Ok(first)
    }
}
