//! redb's errors as the contract's [`StoreError`]: every redb failure becomes
//! [`StoreError::Storage`], so no caller above the store names redb.

use weft_store_api::StoreError;

/// `.db()?` on any redb result turns its error into a [`StoreError`].
pub(crate) trait OrDb<T> {
    /// The value, or the redb error as [`StoreError::Storage`].
    fn db(self) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> OrDb<T> for Result<T, E> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| db_error(e.into()))
    }
}

/// A redb failure as the contract's error. A full disk, and redb's refusal
/// of every call after a failed write, are [`StoreError::Unavailable`]: the
/// writer reopens the database at its next write (see `writer`), and the API
/// answers 503 meanwhile.
pub(crate) fn db_error(e: redb::Error) -> StoreError {
    match &e {
        redb::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) =>
        {
            StoreError::Unavailable(format!(
                "the disk refused a write to the store ({io}); new work is refused until it takes writes again"
            ))
        }
        redb::Error::PreviousIo | redb::Error::DatabaseClosed => StoreError::Unavailable(
            "an earlier write to the store failed; the store is reopened at its next write".into(),
        ),
        _ => StoreError::storage(e),
    }
}

/// Whether `e` means the database handle is unusable after an I/O failure,
/// so that the writer must reopen it.
pub(crate) fn is_io_failure(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(_))
        || redb_error(e).is_some_and(|e| matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo))
}

/// A failed open of the file at `path`: [`StoreError::AlreadyOpen`] when
/// another process holds it.
pub(crate) fn open_error(path: &std::path::Path, e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen {
            path: path.display().to_string(),
        },
        e => db_error(e.into()),
    }
}

/// The redb error inside a [`StoreError::Storage`], if it is one.
pub(crate) fn redb_error(e: &StoreError) -> Option<&redb::Error> {
    match e {
        StoreError::Storage(inner) => inner.downcast_ref::<redb::Error>(),
        _ => None,
    }
}
