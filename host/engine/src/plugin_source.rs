//! Serving the components of loaded plugins to remote workers, by content hash.

use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::error::EngineError;

/// A loaded plugin's component, as a worker downloads it.
#[derive(Debug, Clone)]
pub struct PluginComponent {
    /// The plugin's name in `weft.yaml`.
    pub name: String,
    /// The component's bytes; their SHA-256 is the one asked for.
    pub bytes: Vec<u8>,
}

impl Engine {
    /// The component of the loaded plugin whose SHA-256 (hex) is `sha256`,
    /// read from its file. `None` when no loaded plugin has that hash, or when
    /// its file changed since it was loaded (the old bytes are gone; the
    /// daemon's next reload serves the new ones).
    pub fn plugin_component(&self, sha256: &str) -> Result<Option<PluginComponent>, EngineError> {
        let catalog = self.catalog();
        let Some(name) = catalog.plugin_named_by_hash(sha256) else {
            return Ok(None);
        };
        let Some(decl) = self.project().plugin(&name) else {
            return Ok(None);
        };
        let bytes = std::fs::read(&decl.path).map_err(|source| EngineError::PluginFile {
            path: decl.path.clone(),
            source,
        })?;
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            tracing::warn!(
                plugin = %name,
                path = %decl.path.display(),
                "a worker asked for the loaded version of this plugin, but its file changed since"
            );
            return Ok(None);
        }
        Ok(Some(PluginComponent { name, bytes }))
    }
}
