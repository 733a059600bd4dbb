//! [`RedbBackend`]: the embedded redb store in temporary folders.

use std::sync::{Arc, Mutex};

use weft_store_api::SharedStore;
use weft_store_redb::RedbStore;

use crate::Backend;

/// Fresh redb stores, each in a temporary folder kept until the backend is
/// dropped.
#[derive(Default)]
pub struct RedbBackend {
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

impl RedbBackend {
    /// A backend with no store yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl Backend for RedbBackend {
    #[allow(clippy::expect_used, reason = "a test backend fails loudly")]
    async fn fresh(&self) -> (SharedStore, String) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("weft.redb").display().to_string();
        let store = RedbStore::open(&path).expect("open a fresh redb store");
        if let Ok(mut dirs) = self.dirs.lock() {
            dirs.push(dir);
        }
        (Arc::new(store), path)
    }

    #[allow(clippy::expect_used, reason = "a test backend fails loudly")]
    async fn reopen(&self, id: &str) -> SharedStore {
        Arc::new(RedbStore::open(id).expect("reopen the redb store"))
    }

    async fn second_handle(&self, _id: &str) -> Option<SharedStore> {
        None
    }
}
