//! Appending to a run's ledger inside the operation's transaction, with the
//! contract's canonical bytes and chain (the same bytes and hashes as redb).

use serde_json::Value;
use weft_store_api::{EventKind, LedgerEvent, StoreError, canonical_event_bytes, chain_hash};

use crate::conv::{i, to_text, u};
use crate::tx::Tx;

/// Appends an event to `run`'s ledger (a run, or an `@` stream); returns its
/// seq. The head row is locked until the commit, so appends to one run are
/// one at a time; the change feed gets the run at commit (`@` streams
/// excepted).
pub(crate) async fn append(
    t: &Tx<'_>,
    run: &str,
    time_ms: u64,
    kind: EventKind,
    payload: Value,
) -> Result<u64, StoreError> {
    let zero = vec![0u8; 32];
    // Inserting the head, or "updating" it to itself, locks its row.
    let head = t
        .wrows(
            "INSERT INTO ledger_head (run_id, seq, hash) VALUES ($1, 0, $2) \
             ON CONFLICT (run_id) DO UPDATE SET seq = ledger_head.seq RETURNING seq, hash",
            &[&run, &zero],
        )
        .await?;
    let row = head
        .first()
        .ok_or_else(|| StoreError::Corrupt(format!("ledger head of {run} not returned")))?;
    let last_seq = u(row.get(0));
    let prev: [u8; 32] = row
        .get::<_, Vec<u8>>(1)
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("ledger head of {run}: hash is not 32 bytes")))?;
    let seq = last_seq + 1;
    let bytes = canonical_event_bytes(run, seq, time_ms, kind.as_str(), &payload);
    let hash = chain_hash(&prev, &bytes);
    t.exec(
        "WITH e AS (INSERT INTO ledger (run_id, seq, time_ms, kind, payload, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)) \
         UPDATE ledger_head SET seq = $2, hash = $8 WHERE run_id = $1",
        &[
            &run,
            &i(seq),
            &i(time_ms),
            &kind.as_str(),
            &to_text(&payload)?,
            &hex::encode(prev),
            &hex::encode(hash),
            &hash.to_vec(),
        ],
    )
    .await?;
    if !run.starts_with('@') {
        t.changed(run);
    }
    Ok(seq)
}

/// A ledger event from a row of (seq, time_ms, kind, payload, prev_hash, hash).
pub(crate) fn event_from(r: &tokio_postgres::Row) -> Result<LedgerEvent, (u64, String)> {
    let seq = u(r.get(0));
    let payload: &str = r.get(3);
    let payload = serde_json::from_str(payload).map_err(|e| (seq, e.to_string()))?;
    Ok(LedgerEvent {
        seq,
        time_ms: u(r.get(1)),
        kind: r.get(2),
        payload,
        prev_hash: r.get(4),
        hash: r.get(5),
    })
}

/// The columns [`event_from`] reads.
pub(crate) const EVENT_COLS: &str = "seq, time_ms, kind, payload, prev_hash, hash";
