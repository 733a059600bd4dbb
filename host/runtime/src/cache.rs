//! Compiled components, keyed by the SHA-256 of their bytes: in memory for the
//! life of the process, and as serialized `.cwasm` files on disk so that a restart
//! does not compile again.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentOrigin {
    /// Compiled now by Cranelift.
    Compiled,
    /// Already compiled earlier in this process.
    Memory,
    /// Deserialized from the on-disk cache.
    Disk,
}

pub(crate) struct ComponentCache {
    /// `<cache_dir>/<engine fingerprint>/`, so artifacts of another wasmtime
    /// version or engine configuration are never even opened.
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<String, Component>>,
}

impl ComponentCache {
    pub(crate) fn new(cache_dir: Option<PathBuf>, engine: &Engine) -> Result<Self, LoadError> {
        let dir = match cache_dir {
            Some(root) => {
                let mut h = DefaultHasher::new();
                engine.precompile_compatibility_hash().hash(&mut h);
                let dir = root.join(format!("{:016x}", h.finish()));
                std::fs::create_dir_all(&dir).map_err(|source| LoadError::Cache {
                    path: dir.clone(),
                    source,
                })?;
                Some(dir)
            }
            None => None,
        };
        Ok(Self {
            dir,
            memory: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> Result<(Component, String, ComponentOrigin), LoadError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        if let Some(c) = self.memory().get(&sha256) {
            return Ok((c.clone(), sha256, ComponentOrigin::Memory));
        }
        let path = self.dir.as_ref().map(|d| d.join(format!("{sha256}.cwasm")));
        let from_disk = path.as_deref().and_then(|p| load_serialized(engine, p));
        let (component, origin) = match from_disk {
            Some(c) => (c, ComponentOrigin::Disk),
            None => {
                let c = Component::new(engine, bytes)
                    .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
                if let Some(p) = &path {
                    store_serialized(&c, p);
                }
                (c, ComponentOrigin::Compiled)
            }
        };
        self.memory().insert(sha256.clone(), component.clone());
        Ok((component, sha256, origin))
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, Component>> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Deserialize a cached artifact; `None` (and a log line) if it is missing or
/// unusable, in which case the caller compiles afresh and overwrites it.
fn load_serialized(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output. The
    // cache folder is the operator's (beside the state), files are written only by
    // `store_serialized` under a name that is the hash of the source, in a folder
    // keyed by this engine's compatibility hash, and wasmtime still checks the
    // header's version and configuration before using it.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize_file(engine, path) };
    match loaded {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %path.display(), "ignoring unusable cached component: {e:#}");
            None
        }
    }
}

/// Write a compiled artifact atomically (temp file + rename). Failing to cache is
/// not an error: the component is still usable, only the next start is slower.
fn store_serialized(component: &Component, path: &Path) {
    let result = component
        .serialize()
        .map_err(|e| format!("{e:#}"))
        .and_then(|bytes| {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, bytes)
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), "could not cache compiled component: {e}");
    }
}
