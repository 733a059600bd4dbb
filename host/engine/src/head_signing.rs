//! Signing ledger heads at the end of each run (docs/storage.md, "Tamper
//! evidence"): with a key from `weft.yaml`'s `ledger.signing_key` (or the
//! file the environment variable [`SIGNING_KEY_ENV`] names, which wins), the
//! engine signs `(run, seq, head hash)` of a run's ledger once the run's end
//! is committed, and stores the signature beside the ledger. The key itself
//! never enters the store, so whoever can write the store file cannot re-make
//! a signature after editing or cutting the ledger.

use std::path::{Path, PathBuf};

use weft_flow::ProjectConfig;
use weft_store_api::LedgerSigner;

use crate::error::EngineError;

/// The environment variable naming the signing key file; it overrides
/// `ledger.signing_key`.
pub const SIGNING_KEY_ENV: &str = "WEFT_LEDGER_SIGNING_KEY";

/// The key file to sign with: the environment's, else weft.yaml's.
fn key_path(project: &ProjectConfig) -> Option<PathBuf> {
    match std::env::var_os(SIGNING_KEY_ENV) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => project.ledger.signing_key.clone(),
    }
}

/// Reads a private key file.
pub(crate) fn read_signer(path: &Path) -> Result<LedgerSigner, EngineError> {
    let bad = |reason: String| EngineError::SigningKey {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    LedgerSigner::from_text(&text).map_err(|e| bad(e.to_string()))
}

/// The signer of `project`, if it names a key; an error if the key it names
/// cannot be read (an engine asked to sign must not silently not sign).
pub(crate) fn load_signer(project: &ProjectConfig) -> Result<Option<LedgerSigner>, EngineError> {
    key_path(project).map(|p| read_signer(&p)).transpose()
}
