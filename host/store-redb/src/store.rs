//! [`RedbStore`]: the cloneable handle of the embedded store. Writes go to the
//! single writer and resolve after their batch has committed durably; reads
//! open their own MVCC snapshot. The contract's methods are implemented by role
//! in `runs`, `leasing`, `journal`, `costs`, `changes`, `locks` and `schedules`.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase};
use tokio::sync::{mpsc, oneshot, watch};
use weft_store_api::{Store, StoreError, WriterStats};

use crate::db::OrDb;
use crate::guard::GuardedDb;
use crate::ops::queue::LeaseAsk;
use crate::tables::{self, Tables};
use crate::writer::{self, Msg, Stats, TypedJob};

/// The embedded store of weft, on one redb file. Cheap to clone; every clone
/// talks to the same writer thread. Every time argument (`now`) is ms since the Unix epoch, passed
/// in by the caller: the store never reads a clock.
#[derive(Clone)]
pub struct RedbStore {
    path: Arc<str>,
    db: Arc<GuardedDb>,
    /// The least fencing token this process hands out (see `LeaseAsk`).
    token_floor: u64,
    tx: mpsc::UnboundedSender<Msg>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .field("writer", &self.stats.snapshot())
            .finish()
    }
}

/// redb's page cache when nothing else is asked for: bounded, because redb's
/// own default (1 GiB) is a daemon's memory growing with its file.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How a [`RedbStore`] opens its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedbOptions {
    /// The most memory redb's page cache takes (weft.yaml `store.cache`).
    pub cache_bytes: usize,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self {
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

impl RedbStore {
    /// Opens (or creates) the database at `path` with the default options;
    /// see [`RedbStore::open_with`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, RedbOptions::default())
    }

    /// Opens (or creates) the database at `path` and starts its writer thread.
    /// redb recovers a database that was not closed cleanly while opening it.
    /// A damaged file is [`StoreError::Damaged`] naming it, never a panic
    /// (see `guard`).
    pub fn open_with(path: impl AsRef<Path>, options: RedbOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        Self::start(path, GuardedDb::create(path, options.cache_bytes)?)
    }

    /// Opens (or creates) a database on `backend` instead of a file (the
    /// simulator's [`crate::SimDisk`]); `name` stands for the file in messages.
    pub fn open_on<B>(name: &str, backend: B, options: RedbOptions) -> Result<Self, StoreError>
    where
        B: redb::StorageBackend + Clone,
    {
        let path = Path::new(name);
        let opener = Box::new(move || {
            Database::builder()
                .set_cache_size(options.cache_bytes)
                .create_with_backend(backend.clone())
                .map_err(|e| crate::db::db_error(e.into()))
        });
        Self::start(path, GuardedDb::with_opener(path, opener)?)
    }

    fn start(path: &Path, db: GuardedDb) -> Result<Self, StoreError> {
        let epoch = db.with(|db| {
            tables::create_all(db)?;
            tables::index_idempotency(db)?;
            tables::open_epoch(db)
        })?;
        let db = Arc::new(db);
        let stats = Arc::new(Stats::default());
        let tx = writer::spawn(Arc::clone(&db), Arc::clone(&stats))?;
        Ok(Self {
            path: path.display().to_string().into(),
            db,
            token_floor: epoch.saturating_sub(1) << 32,
            tx,
            stats,
        })
    }

    /// Runs `op` in the writer; resolves after its batch is durably committed.
    pub(crate) async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.send(op, true).await
    }

    /// Runs `op` in the writer; resolves after its batch is committed, which
    /// may be without fsync (leases: see `writer`'s module docs).
    pub(crate) async fn write_volatile<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.send(op, false).await
    }

    async fn send<T, F>(&self, op: F, durable: bool) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, rx) = TypedJob::new(Box::new(op), durable);
        self.tx
            .send(Msg::Job(Box::new(job)))
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f` on a read transaction (a snapshot of the last commit).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.db.with(|db| f(&db.begin_read().db()?))
    }

    /// The lease request with this process's token floor.
    pub(crate) fn ask(&self, owner: &str, pools: Option<&[String]>, lease_ms: u64) -> LeaseAsk {
        LeaseAsk {
            owner: owner.to_owned(),
            pools: pools.map(<[String]>::to_vec),
            lease_ms,
            token_floor: self.token_floor,
        }
    }
}

#[async_trait::async_trait]
impl Store for RedbStore {
    fn describe(&self) -> String {
        format!("redb {}", self.path)
    }

    fn commits(&self) -> watch::Receiver<u64> {
        self.stats.watch_commits()
    }

    fn writer_stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).is_ok() {
            let _ = done.await;
        }
    }
}
