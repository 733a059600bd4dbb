//! The one place the engine names a store backend: opening what `store:` in
//! weft.yaml says — the embedded redb file of the state folder (the default)
//! or a PostgreSQL database. Everything else holds a [`SharedStore`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft_flow::{PostgresDecl, StoreDecl};
use weft_store_api::{SharedStore, StoreError};

use crate::error::EngineError;

/// The longest pause between two attempts to reach a database that is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The embedded store's file in `state_dir`.
pub fn redb_file(state_dir: &Path) -> PathBuf {
    state_dir.join("weft.redb")
}

/// Opens the store `decl` names. The embedded store is the file
/// `<state_dir>/weft.redb` (created if missing). A PostgreSQL database that
/// cannot be reached is tried again with back-off (each failure logged,
/// never with the URL) for up to `wait`, then it is an error that says what
/// was tried; applied schema migrations come first.
pub async fn open_store(
    decl: &StoreDecl,
    state_dir: &Path,
    wait: Duration,
) -> Result<SharedStore, EngineError> {
    match decl {
        StoreDecl::Redb => open_redb(&redb_file(state_dir)),
        StoreDecl::Postgres(pg) => open_postgres(pg, wait).await,
    }
}

/// Opens (or creates) the embedded store at `db` (a redb file).
pub(crate) fn open_redb(db: &Path) -> Result<SharedStore, EngineError> {
    let store = weft_store_redb::RedbStore::open(db).map_err(|source| EngineError::OpenStore {
        path: db.to_owned(),
        source,
    })?;
    Ok(Arc::new(store))
}

/// The connection settings of `decl`, with the URL read from its variable.
pub fn postgres_config(decl: &PostgresDecl) -> Result<weft_store_postgres::PgConfig, EngineError> {
    match std::env::var(&decl.url_env) {
        Ok(url) if !url.trim().is_empty() => Ok(weft_store_postgres::PgConfig {
            url,
            schema: decl.schema.clone(),
            pool_size: decl.pool_size,
        }),
        _ => Err(EngineError::DatabaseUrlMissing {
            var: decl.url_env.clone(),
        }),
    }
}

/// The PostgreSQL store of `decl`, waiting up to `wait` for the server.
async fn open_postgres(decl: &PostgresDecl, wait: Duration) -> Result<SharedStore, EngineError> {
    let what = format!("PostgreSQL (the URL in ${})", decl.url_env);
    let config = postgres_config(decl)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        match weft_store_postgres::PgStore::connect(config.clone()).await {
            Ok(store) => return Ok(Arc::new(store)),
            Err(source @ StoreError::Unavailable(_)) if started.elapsed() + pause < wait => {
                tracing::warn!(
                    "{what} is unreachable: {source}; trying again in {} ms",
                    pause.as_millis()
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_BACKOFF);
            }
            Err(source) => return Err(EngineError::OpenDatabase { what, source }),
        }
    }
}
