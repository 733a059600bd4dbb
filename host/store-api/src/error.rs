//! The one error type of the store.
//!
//! Errors fall in two groups. *Refusals* (a stale fencing token, an unknown run, bad
//! input) are decided by an operation before it writes anything, so a backend can
//! commit the rest of a batch and hand the refusal to that one caller. *Storage
//! failures* (the backend's database failed, a stored record is corrupt) abort the
//! whole transaction. Every backend answers with this one type, so no caller ever
//! names a backend's own error.

use crate::types::{RunStatus, TaskState};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend's database failed (I/O, a full disk, a lost connection, ...).
    #[error("storage error: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store is already open in another process (an embedded store has
    /// one owner at a time).
    #[error("the store {path} is already open in another process")]
    AlreadyOpen {
        /// Where the store is.
        path: String,
    },
    /// A stored record could not be decoded.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// An embedded store's file is damaged: its database found it corrupted
    /// or failed on it, or a record in it does not decode (for redb, see
    /// `weft-store-redb`'s `guard`).
    #[error(
        "the store file {} is damaged: {detail}; `weft store check` reports what is damaged \
         and `weft store check --repair` recovers what it can (after copying the file aside)",
        path.display()
    )]
    Damaged {
        /// The store file.
        path: std::path::PathBuf,
        /// What was found.
        detail: String,
    },
    /// The caller passed something the store cannot accept.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// An idempotency key still in force was presented with another flow or input
    /// than the run it created.
    #[error(
        "idempotency key `{key}` was already used for run {run} with a different flow or input; \
         use a new key, or send the same flow and input to get run {run} back"
    )]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The run it created.
        run: String,
    },
    /// A submit would put a task in a [`StrictPool`](crate::StrictPool) that is
    /// full; nothing was written.
    #[error(
        "pool `{pool}` is exhausted ({active} running + {queued} queued of max_concurrent {max}) and refuses new work (on_exhausted: fail)"
    )]
    PoolExhausted {
        /// The pool.
        pool: String,
        /// Its live leases.
        active: u64,
        /// Its queued tasks.
        queued: u64,
        /// Its `max_concurrent`.
        max: u32,
    },
    /// No run has this id.
    #[error("run {0} not found")]
    RunNotFound(String),
    /// No task has this id.
    #[error("task {0} not found")]
    TaskNotFound(u64),
    /// A fenced operation presented a token that does not hold the task's lease
    /// (the lease ran out — handed on or not —, or the task is no longer leased).
    /// The refusal is recorded in the run's ledger and the `stale_refusals` counter.
    #[error(
        "stale fencing token for task {task}: presented {presented}, current {current} (task is {state}){}",
        expired_note(*.lease_expired_at)
    )]
    StaleToken {
        /// The task.
        task: u64,
        /// The token the caller presented.
        presented: u64,
        /// The newest token handed out for the task.
        current: u64,
        /// The task's state now.
        state: TaskState,
        /// When the presented token's own lease ran out (ms), if that is why it
        /// was refused: the task was handed back to the queue by this refusal.
        lease_expired_at: Option<u64>,
    },
    /// The run has already finished; it takes no more changes.
    #[error("run {run} is already {status}")]
    RunFinished {
        /// The run.
        run: String,
        /// Its final status.
        status: RunStatus,
    },
    /// `dlq_requeue`/`dlq_purge` named a task that is not dead-lettered.
    #[error("task {task} is {state}, not dead-lettered")]
    NotDeadLettered {
        /// The task.
        task: u64,
        /// Its state.
        state: TaskState,
    },
    /// `lock_release` named a lock that is not held: never taken, released, or
    /// expired (an expired lock may already belong to someone else).
    #[error("lock `{key}` is not held (it was never taken, was released, or has expired)")]
    LockNotHeld {
        /// The lock key.
        key: String,
    },
    /// `lock_release` presented another token than the holder's.
    #[error(
        "lock `{key}` is held by {owner} with another token than {presented}; \
         only its holder's token releases it"
    )]
    LockTokenMismatch {
        /// The lock key.
        key: String,
        /// The token presented.
        presented: u64,
        /// Who holds the lock.
        owner: String,
    },
    /// The writer thread has stopped (the store was closed, or it panicked).
    #[error("the store's writer thread has stopped")]
    WriterGone,
    /// A server backend (PostgreSQL) cannot be reached or refused the
    /// connection; the message names the server but never its password.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// A backend's failure, kept as the source of [`StoreError::Storage`].
    pub fn storage(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Storage(Box::new(e))
    }

    /// Whether this error means the transaction can no longer be trusted, so the
    /// whole batch must be rolled back (as opposed to a refusal of one operation).
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            Self::Storage(_) | Self::Corrupt(_) | Self::Damaged { .. } | Self::Unavailable(_)
        )
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// The end of a [`StoreError::StaleToken`] message for a lease that ran out.
fn expired_note(expired_at: Option<u64>) -> String {
    expired_at.map_or_else(String::new, |at| {
        format!(
            "; its lease ran out at {} and the task went back to the queue",
            crate::run_id::utc_datetime(at)
        )
    })
}
