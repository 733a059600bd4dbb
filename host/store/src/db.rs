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

/// A redb failure as the contract's error.
pub(crate) fn db_error(e: redb::Error) -> StoreError {
    StoreError::storage(e)
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
