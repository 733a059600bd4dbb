//! Semantic search over runs: a sentence embedding per run (its summary or output)
//! and nearest-neighbour search, optionally filtered by flow, tenant, status and time.
//!
//! - [`Embedder`]: all-MiniLM-L6-v2 through fastembed and ONNX Runtime, from local
//!   files only (`scripts/setup-model.sh` obtains them).
//! - [`SemanticIndex`]: arroy trees (cosine) in LMDB under one folder.
//!
//! When no model is configured, [`Embedder::from_env_or`] returns
//! [`SemanticError::NotConfigured`], whose message says how to configure one;
//! nothing falls back to a fake model.

mod embedder;
mod error;
mod index;
mod store;

pub use embedder::{
    DIMENSIONS, Embedder, MODEL_DIR_ENV, MODEL_FILES, ORT_DYLIB_ENV, default_onnxruntime,
};
pub use error::SemanticError;
pub use index::SemanticIndex;

/// One run as the semantic index sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemanticDoc {
    /// The run's id; the index holds one vector per run id.
    pub run_id: String,
    /// The text to embed: the run's summary or output (only the first 128 tokens count).
    pub text: String,
    /// The flow the run belongs to.
    pub flow: String,
    /// The run's tenant.
    pub tenant: String,
    /// The run's status, as the store names it.
    pub status: String,
    /// When the run was created, in milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// Which runs a search may return; every field given must match (`None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SemanticFilter {
    /// Only runs of this flow.
    pub flow: Option<String>,
    /// Only runs of this tenant.
    pub tenant: Option<String>,
    /// Only runs with this status.
    pub status: Option<String>,
    /// Only runs created at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// Only runs created at or before this time (ms since the epoch).
    pub until_ms: Option<u64>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticHit {
    /// The run.
    pub run_id: String,
    /// Cosine similarity between the query and the run's text, in [-1, 1]; higher is nearer.
    pub score: f32,
}
