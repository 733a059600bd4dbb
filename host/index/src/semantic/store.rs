//! The LMDB side of the semantic index: which databases there are, how a run's
//! record is encoded, and the per-value bitmaps that filters are built from.
//!
//! One LMDB environment (one folder, `data.mdb`) holds:
//!
//! | database   | key                              | value                                   |
//! |------------|----------------------------------|-----------------------------------------|
//! | `vectors`  | arroy's                          | the vectors and arroy's trees (cosine)  |
//! | `items`    | item id (u32 BE)                 | [`Record`]: run id, flow, tenant, status, created_ms |
//! | `runs`     | run id                           | item id (u32 BE)                        |
//! | `postings` | field byte + value (`f`/`t`/`s`) | RoaringBitmap of item ids with that value |
//! | `times`    | created_ms (u64 BE) + item (u32 BE) | nothing                              |
//! | `state`    | name                             | u64: `indexed_seq`, `next_item`, `format` |
//!
//! Writes and the arroy tree build share one write transaction, so a crash leaves
//! either the whole batch or none of it.

use std::collections::HashMap;
use std::ops::Bound;

use heed::byteorder::BigEndian;
use heed::types::{Bytes, Str, U32, U64, Unit};
use heed::{Database, RoTxn, RwTxn};
use roaring::RoaringBitmap;

use super::{SemanticError, SemanticFilter};

/// Item id → [`Record`] bytes.
pub(super) type Items = Database<'static, U32<BigEndian>, Bytes>;
/// Run id → item id.
pub(super) type Runs = Database<'static, Str, U32<BigEndian>>;
/// Field byte + value → serialized RoaringBitmap.
pub(super) type Postings = Database<'static, Bytes, Bytes>;
/// created_ms ‖ item → ().
pub(super) type Times = Database<'static, Bytes, Unit>;
/// Name → u64.
pub(super) type State = Database<'static, Str, U64<BigEndian>>;

pub(super) const FLOW: u8 = b'f';
pub(super) const TENANT: u8 = b't';
pub(super) const STATUS: u8 = b's';

/// What is kept per indexed run besides its vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    pub run_id: String,
    pub flow: String,
    pub tenant: String,
    pub status: String,
    pub created_ms: u64,
}

impl Record {
    /// `created_ms` (8 bytes BE), then four strings each as a u32 BE length and bytes.
    pub fn encode(&self) -> Vec<u8> {
        let strings = [&self.run_id, &self.flow, &self.tenant, &self.status];
        let len = 8 + strings.iter().map(|s| 4 + s.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&self.created_ms.to_be_bytes());
        for s in strings {
            // Run ids, flow ids, tenants and statuses are short; a 4 GiB one is not a record.
            let n = u32::try_from(s.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&s.as_bytes()[..n as usize]);
        }
        out
    }

    /// The inverse of [`Record::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, SemanticError> {
        let bad = || SemanticError::Corrupt("item record".into());
        let (ms, mut rest) = bytes.split_first_chunk::<8>().ok_or_else(bad)?;
        let mut next = || -> Result<String, SemanticError> {
            let (n, tail) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
            let n = u32::from_be_bytes(*n) as usize;
            let (s, tail) = tail.split_at_checked(n).ok_or_else(bad)?;
            rest = tail;
            String::from_utf8(s.to_vec()).map_err(|_| bad())
        };
        Ok(Self {
            run_id: next()?,
            flow: next()?,
            tenant: next()?,
            status: next()?,
            created_ms: u64::from_be_bytes(*ms),
        })
    }
}

/// The `postings` key of one field value.
pub(super) fn posting_key(field: u8, value: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + value.len());
    key.push(field);
    key.extend_from_slice(value.as_bytes());
    key
}

/// The `times` key of one item.
pub(super) fn time_key(created_ms: u64, item: u32) -> [u8; 12] {
    let mut key = [0; 12];
    key[..8].copy_from_slice(&created_ms.to_be_bytes());
    key[8..].copy_from_slice(&item.to_be_bytes());
    key
}

/// Reads one bitmap; a value never seen is the empty set.
pub(super) fn read_posting(
    db: Postings,
    rtxn: &RoTxn,
    key: &[u8],
) -> Result<RoaringBitmap, SemanticError> {
    match db.get(rtxn, key)? {
        Some(bytes) => RoaringBitmap::deserialize_from(bytes)
            .map_err(|_| SemanticError::Corrupt("posting bitmap".into())),
        None => Ok(RoaringBitmap::new()),
    }
}

/// Bitmap changes gathered over a write batch and written once at its end, so a
/// batch of 64 runs of one tenant rewrites that tenant's bitmap once, not 64 times.
#[derive(Default)]
pub(super) struct PostingEdits {
    edits: HashMap<Vec<u8>, RoaringBitmap>,
}

impl PostingEdits {
    fn bitmap(
        &mut self,
        db: Postings,
        wtxn: &RwTxn,
        key: Vec<u8>,
    ) -> Result<&mut RoaringBitmap, SemanticError> {
        if !self.edits.contains_key(&key) {
            let current = read_posting(db, wtxn, &key)?;
            self.edits.insert(key.clone(), current);
        }
        Ok(self.edits.entry(key).or_default())
    }

    /// Adds `item` under each of the record's field values and its time.
    pub fn add(
        &mut self,
        dbs: (Postings, Times),
        wtxn: &mut RwTxn,
        rec: &Record,
        item: u32,
    ) -> Result<(), SemanticError> {
        for (field, value) in [
            (FLOW, &rec.flow),
            (TENANT, &rec.tenant),
            (STATUS, &rec.status),
        ] {
            self.bitmap(dbs.0, wtxn, posting_key(field, value))?
                .insert(item);
        }
        dbs.1.put(wtxn, &time_key(rec.created_ms, item), &())?;
        Ok(())
    }

    /// Removes `item` from each of the record's field values and its time.
    pub fn remove(
        &mut self,
        dbs: (Postings, Times),
        wtxn: &mut RwTxn,
        rec: &Record,
        item: u32,
    ) -> Result<(), SemanticError> {
        for (field, value) in [
            (FLOW, &rec.flow),
            (TENANT, &rec.tenant),
            (STATUS, &rec.status),
        ] {
            self.bitmap(dbs.0, wtxn, posting_key(field, value))?
                .remove(item);
        }
        dbs.1.delete(wtxn, &time_key(rec.created_ms, item))?;
        Ok(())
    }

    /// Writes every changed bitmap; an emptied one is deleted.
    pub fn write(self, db: Postings, wtxn: &mut RwTxn) -> Result<(), SemanticError> {
        let mut buf = Vec::new();
        for (key, bitmap) in self.edits {
            if bitmap.is_empty() {
                db.delete(wtxn, &key)?;
            } else {
                buf.clear();
                bitmap
                    .serialize_into(&mut buf)
                    .map_err(|_| SemanticError::Corrupt("posting bitmap".into()))?;
                db.put(wtxn, &key, &buf)?;
            }
        }
        Ok(())
    }
}

/// The items a filter allows, or `None` when it allows every item.
///
/// Cost: one bitmap read and intersection per field given (each bitmap holds the
/// items with that value, so at most all items); a time bound walks the `times`
/// range it selects, one key per item in the range.
pub(super) fn candidates(
    dbs: (Postings, Times),
    rtxn: &RoTxn,
    filter: &SemanticFilter,
) -> Result<Option<RoaringBitmap>, SemanticError> {
    let mut result: Option<RoaringBitmap> = None;
    let fields = [
        (FLOW, &filter.flow),
        (TENANT, &filter.tenant),
        (STATUS, &filter.status),
    ];
    for (field, value) in fields {
        if let Some(value) = value {
            let bitmap = read_posting(dbs.0, rtxn, &posting_key(field, value))?;
            result = Some(match result {
                Some(r) => r & bitmap,
                None => bitmap,
            });
        }
    }
    if filter.since_ms.is_some() || filter.until_ms.is_some() {
        let lo = time_key(filter.since_ms.unwrap_or(0), 0);
        let hi = time_key(filter.until_ms.unwrap_or(u64::MAX), u32::MAX);
        let mut in_range = RoaringBitmap::new();
        if lo <= hi {
            let range = (Bound::Included(&lo[..]), Bound::Included(&hi[..]));
            for entry in dbs.1.range(rtxn, &range)? {
                let (key, ()) = entry?;
                let item = key
                    .get(8..12)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .ok_or_else(|| SemanticError::Corrupt("time key".into()))?;
                in_range.insert(u32::from_be_bytes(item));
            }
        }
        result = Some(match result {
            Some(r) => r & in_range,
            None => in_range,
        });
    }
    Ok(result)
}
