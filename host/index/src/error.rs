//! The errors of the search index.

use std::path::PathBuf;

use crate::query::QueryError;

/// What can go wrong while indexing or searching.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The query text does not parse (the error names the column).
    #[error("bad query: {0}")]
    Query(#[from] QueryError),
    /// A time bound (`--since`, `since:`) is not a time.
    #[error("bad time `{value}`: {why}")]
    BadTime {
        /// What was given.
        value: String,
        /// Why it is not a time.
        why: String,
    },
    /// Semantic search was asked for but cannot be had: no embedding model is
    /// configured, it does not load, or the request does not suit it.
    #[error("{0}")]
    SemanticUnavailable(String),
    /// The semantic index failed.
    #[error(transparent)]
    Semantic(#[from] crate::semantic::SemanticError),
    /// The index folder could not be created or read.
    #[error("index folder {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The index folder holds an index this version cannot use.
    #[error(
        "the index at {path} does not match this version of weft ({why}); rebuild it with `weft index rebuild`"
    )]
    Incompatible {
        /// The folder.
        path: PathBuf,
        /// What tantivy said.
        why: String,
    },
    /// tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] weft_store_api::StoreError),
    /// Another thread panicked while holding the index.
    #[error("the search index lock is poisoned")]
    Poisoned,
}
