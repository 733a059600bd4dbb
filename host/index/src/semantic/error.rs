//! The one error type of semantic search.

use std::path::PathBuf;

/// What can go wrong while loading the model, embedding text or using the vector index.
#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    /// No model was configured: neither weft.yaml nor the environment names one.
    #[error(
        "semantic search is not configured: set search.semantic.model_dir in weft.yaml or \
         WEFT_EMBED_MODEL_DIR (run scripts/setup-model.sh)"
    )]
    NotConfigured,
    /// A file the model needs is not where the configuration says.
    #[error("semantic search: missing file {} (run scripts/setup-model.sh)", .path.display())]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A file exists but could not be read.
    #[error("semantic search: could not read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The ONNX Runtime shared library could not be loaded.
    #[error("semantic search: could not load ONNX Runtime from {}: {message}", .path.display())]
    OnnxRuntime {
        /// The library that was asked for.
        path: PathBuf,
        /// What ort said.
        message: String,
    },
    /// The model files were read but fastembed could not build a session or tokenizer.
    #[error("semantic search: could not load the model in {}: {message}", .dir.display())]
    Model {
        /// The model folder.
        dir: PathBuf,
        /// What fastembed said.
        message: String,
    },
    /// Running the model failed.
    #[error("semantic search: embedding failed: {0}")]
    Embed(String),
    /// The model gave vectors of an unexpected length.
    #[error("semantic search: the model gives {got}-dimensional vectors, the index holds {want}")]
    Dimensions {
        /// What the index expects.
        want: usize,
        /// What the model gave.
        got: usize,
    },
    /// The index folder could not be created or opened.
    #[error("semantic index at {}: {source}", .dir.display())]
    Open {
        /// The index folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// LMDB (through heed) failed.
    #[error("semantic index storage: {0}")]
    Storage(#[from] heed::Error),
    /// arroy failed.
    #[error("semantic index: {0}")]
    Vectors(#[from] arroy::Error),
    /// A stored record could not be decoded: the index is damaged or from another version.
    #[error("semantic index: damaged record: {0}")]
    Corrupt(String),
    /// The index holds as many items as item ids allow (2^32).
    #[error("semantic index is full: no free item id")]
    Full,
}
