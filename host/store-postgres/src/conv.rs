//! Integer conversions between the contract's `u64`/`u32` and PostgreSQL's
//! `bigint`, and JSON text in and out.

use serde_json::Value;
use weft_store_api::StoreError;

/// A `u64` as `bigint`; values above `i64::MAX` (never a real time, count or
/// id) are stored as `i64::MAX`.
pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A `u32` as `bigint`.
pub(crate) fn i32w(v: u32) -> i64 {
    i64::from(v)
}

/// A `bigint` as `u64` (negative values, never written, read as 0).
pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A `bigint` as `u32`.
pub(crate) fn u32n(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// A `usize` limit as `bigint`.
pub(crate) fn lim(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// JSON text as stored.
pub(crate) fn to_text(v: &Value) -> Result<String, StoreError> {
    Ok(serde_json::to_string(v)?)
}

/// Stored JSON text back.
pub(crate) fn from_text(s: &str) -> Result<Value, StoreError> {
    Ok(serde_json::from_str(s)?)
}
