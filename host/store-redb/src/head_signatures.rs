//! Signed ledger heads on redb: one row per (run, seq) in
//! [`tables::LEDGER_SIGNATURES`], written through the writer like every other
//! write. The store keeps them and never checks them (`weft runs verify
//! --public-key` does, with a key the store does not hold).

use redb::ReadTransaction;
use weft_store_api::{HeadSignature, StoreError};

use crate::db::OrDb;
use crate::tables::{self, Tables};

/// Stores `sig` (replacing a signature of the same seq).
pub fn put(t: &mut Tables<'_>, sig: &HeadSignature) -> Result<(), StoreError> {
    let bytes = tables::encode(sig)?;
    t.ledger_signatures
        .insert((sig.run.as_str(), sig.seq), bytes.as_slice())
        .db()?;
    Ok(())
}

/// The signed heads of `run`, by seq.
pub fn of_run(rt: &ReadTransaction, run: &str) -> Result<Vec<HeadSignature>, StoreError> {
    let table = rt.open_table(tables::LEDGER_SIGNATURES).db()?;
    let mut sigs = Vec::new();
    for entry in table.range((run, 0u64)..=(run, u64::MAX)).db()? {
        let (_, value) = entry.db()?;
        sigs.push(tables::decode(value.value())?);
    }
    Ok(sigs)
}
