//! The one place the engine names a store backend: opening the embedded redb
//! store of a state folder. Everything else holds a [`SharedStore`].

use std::path::Path;
use std::sync::Arc;

use weft_store_api::SharedStore;

use crate::error::EngineError;

/// Opens (or creates) the embedded store at `db` (a redb file).
pub(crate) fn open(db: &Path) -> Result<SharedStore, EngineError> {
    let store = weft_store::RedbStore::open(db).map_err(|source| EngineError::OpenStore {
        path: db.to_owned(),
        source,
    })?;
    Ok(Arc::new(store))
}
