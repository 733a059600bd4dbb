//! The records and answers of the operators' locks (see `ops::lock`).

use serde::{Deserialize, Serialize};

/// The longest lock key, in bytes.
pub const MAX_LOCK_KEY: usize = 128;
/// The longest lock owner name, in bytes.
pub const MAX_LOCK_OWNER: usize = 256;

/// A lock as stored: who holds it, with which fencing token, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// The lock's name: 1 to [`MAX_LOCK_KEY`] letters, digits, `.`, `_`, `-`,
    /// `:` or `/`.
    pub key: String,
    /// Who holds it (free text, e.g. `ada@build-3:4121`).
    pub owner: String,
    /// The fencing token: from a store-wide counter, so a lock taken later
    /// (of any key) always has a greater token. A renewal keeps it.
    pub token: u64,
    /// When the holder took it (ms since the Unix epoch).
    pub acquired_ms: u64,
    /// When it runs out unless renewed; at or after this time it is free.
    pub expires_ms: u64,
}

impl LockRecord {
    /// Whether the lock still holds at `now`.
    pub fn is_live(&self, now: u64) -> bool {
        self.expires_ms > now
    }
}

/// The answer to `lock_acquire`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockAcquire {
    /// The caller holds the lock now.
    Acquired {
        /// The lock as stored.
        lock: LockRecord,
        /// True when the caller already held it: its expiry moved, its token
        /// stayed the same.
        renewed: bool,
    },
    /// Another owner holds it.
    Held {
        /// The holder.
        owner: String,
        /// When the holder's lock runs out.
        expires_ms: u64,
    },
}
