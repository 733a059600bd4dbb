//! The change feed's publication. A writer adds its changes to
//! `change_pending` at commit and takes no lock for them; a reader of the
//! feed first *publishes*: it moves the committed rows into `changes`, with
//! seqs from the `change_seq` counter, under an advisory lock that only
//! publishers take.
//!
//! Why this keeps the contract (seqs gap-free, and a reader that has read up
//! to seq N never later finds a seq ≤ N): seqs are given only at
//! publication, to rows whose transactions have committed (a publication
//! sees only those), one publication at a time (the advisory lock is held
//! until its commit, and the next one's statement sees what it moved), from
//! a counter that moves by exactly the rows moved. A row whose transaction
//! commits later is simply published later, with a greater seq. A run's
//! changes keep their order: two transactions on one run are serialised by
//! its ledger head row, so the later one's rows have greater ids, and rows
//! move in id order.

use weft_store_api::StoreError;

use crate::conv::u;
use crate::tx::Tx;

/// Moves the committed pending changes into `changes`; how many moved.
pub(crate) async fn publish(t: &Tx<'_>) -> Result<u64, StoreError> {
    t.rows(
        "SELECT pg_advisory_xact_lock(hashtext('weft-changes:' || current_schema()))",
        &[],
    )
    .await?;
    let moved = t
        .exec(
            "WITH moved AS (DELETE FROM change_pending RETURNING id, run_id), \
             n AS (SELECT count(*) AS n FROM moved), \
             c AS (UPDATE counters SET value = value + (SELECT n FROM n) \
               WHERE name = 'change_seq' AND (SELECT n FROM n) > 0 RETURNING value) \
             INSERT INTO changes (seq, run_id) \
             SELECT c.value - (SELECT n FROM n) + row_number() OVER (ORDER BY m.id), m.run_id \
             FROM c, moved m",
            &[],
        )
        .await?;
    Ok(moved)
}

/// The counter's value: the newest published seq.
pub(crate) async fn head(t: &Tx<'_>) -> Result<u64, StoreError> {
    let row = t
        .row("SELECT value FROM counters WHERE name = 'change_seq'", &[])
        .await?;
    Ok(row.map_or(0, |r| u(r.get(0))))
}
