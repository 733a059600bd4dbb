//! The per-run ledger on redb: appending an event inside a write transaction,
//! and reading a run's events back. The events, their canonical bytes, the
//! chain and its verification are the contract's (`weft_store_api`), shared by
//! every backend.

use redb::ReadableTable;
use serde_json::Value;
pub(crate) use weft_store_api::{EventKind, LedgerEvent, MaybeEvent, VerifyReport, verify_events};
use weft_store_api::{StoreError, canonical_event_bytes, chain_hash};

use crate::db::OrDb;
use crate::tables::{Tables, decode, encode};

/// Appends an event to `run`'s ledger inside the current write transaction.
pub fn append(
    t: &mut Tables<'_>,
    run: &str,
    time_ms: u64,
    kind: EventKind,
    payload: Value,
) -> Result<u64, StoreError> {
    let (last_seq, prev) = match t.ledger_head.get(run).db()? {
        Some(g) => g.value(),
        None => (0, [0u8; 32]),
    };
    let seq = last_seq + 1;
    let bytes = canonical_event_bytes(run, seq, time_ms, kind.as_str(), &payload);
    let hash = chain_hash(&prev, &bytes);
    let event = LedgerEvent {
        seq,
        time_ms,
        kind: kind.as_str().to_owned(),
        payload,
        prev_hash: hex::encode(prev),
        hash: hex::encode(hash),
    };
    t.ledger
        .insert((run, seq), encode(&event)?.as_slice())
        .db()?;
    t.ledger_head.insert(run, (seq, hash)).db()?;
    record_change(t, run)?;
    Ok(seq)
}

/// Appends `run` to the global change feed ([`crate::tables::CHANGES`]),
/// except for streams that are not runs (ids starting with `@`).
pub(crate) fn record_change(t: &mut Tables<'_>, run: &str) -> Result<(), StoreError> {
    if run.starts_with('@') {
        return Ok(());
    }
    let next = t.changes.last().db()?.map_or(0, |(k, _)| k.value()) + 1;
    t.changes.insert(next, run).db()?;
    Ok(())
}

/// Reads a run's events in order from any ledger table.
pub fn read_events(
    table: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    run: &str,
) -> Result<Vec<MaybeEvent>, StoreError> {
    let mut out = Vec::new();
    for entry in table.range((run, 0u64)..=(run, u64::MAX)).db()? {
        let (k, v) = entry.db()?;
        let seq = k.value().1;
        out.push(decode::<LedgerEvent>(v.value()).map_err(|e| (seq, e.to_string())));
    }
    Ok(out)
}
