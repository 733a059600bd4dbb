//! [`PgStore`]: the cloneable handle of the PostgreSQL store: a connection
//! pool, the schema, the commit watch and the `LISTEN` task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::watch;
use tokio_postgres::NoTls;
use weft_store_api::{Store, StoreError, WriterStats};

use crate::config::{self, PgConfig};
use crate::migrate::{self, Migration};

/// The PostgreSQL store. Cheap to clone; clones share the pool. Every time
/// argument (`now`) is ms since the Unix epoch, passed in by the caller: the
/// store never reads a clock.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    pg: tokio_postgres::Config,
    schema: String,
    describe: String,
    password: Option<String>,
    stats: Arc<Stats>,
    listener: tokio::task::AbortHandle,
    /// Every operation holds a read guard for its whole transaction; `close`
    /// takes the write guard (waiting for those in flight) and sets it.
    closed: Arc<tokio::sync::RwLock<bool>>,
    /// Run numbers taken from `day_seq` and not handed out yet.
    run_seqs: crate::run_seq::RunSeqs,
}

/// A pooled connection and the guard that keeps `close` waiting for it.
pub(crate) struct Conn {
    pub(crate) client: deadpool_postgres::Client,
    pub(crate) open: tokio::sync::OwnedRwLockReadGuard<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
        self.pool.close();
    }
}

/// What this handle has committed, and the watch that moves on every commit
/// (this process's, and other processes' through `LISTEN`).
pub(crate) struct Stats {
    commits: AtomicU64,
    pub(crate) committed: watch::Sender<u64>,
    pub(crate) listening: watch::Sender<bool>,
    /// How many times the `LISTEN` connection has started listening.
    pub(crate) listens: AtomicU64,
    /// Transactions run again (deadlock, serialisation failure, racing insert).
    pub(crate) retries: AtomicU64,
    /// Runs that ended in a commit of any process (from `LISTEN`).
    pub(crate) ended: tokio::sync::broadcast::Sender<String>,
    /// Moves after other processes' commits (from `LISTEN`).
    pub(crate) foreign: watch::Sender<u64>,
    /// This store's name in its commits' notifications, so that its
    /// listener can tell its own commits from others'.
    pub(crate) origin: String,
}

impl Stats {
    pub(crate) fn bump(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Another process committed (or may have: after a reconnect).
    pub(crate) fn bump_foreign(&self) {
        self.bump();
        self.foreign.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("store", &self.inner.describe)
            .finish()
    }
}

impl PgStore {
    /// Connects, applies pending migrations (creating the schema if needed)
    /// and starts listening for other processes' commits. An unreachable
    /// server is [`StoreError::Unavailable`]; no error names the password.
    pub async fn connect(config: PgConfig) -> Result<Self, StoreError> {
        let parsed = config::parse(&config)?;
        let mut direct =
            Self::connect_direct(&parsed.pg, &parsed.describe, parsed.password.as_deref()).await?;
        migrate::migrate(&mut direct, &parsed.schema).await?;
        drop(direct);
        let manager = Manager::from_config(
            parsed.pg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .build()
            .map_err(|e| StoreError::Invalid(format!("connection pool: {e}")))?;
        let stats = Arc::new(Stats {
            commits: AtomicU64::new(0),
            committed: watch::Sender::new(0),
            listening: watch::Sender::new(false),
            listens: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            ended: tokio::sync::broadcast::channel(1024).0,
            foreign: watch::Sender::new(0),
            origin: origin(),
        });
        let listener =
            crate::listen::spawn(parsed.pg.clone(), parsed.schema.clone(), Arc::clone(&stats));
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                pg: parsed.pg,
                schema: parsed.schema,
                describe: parsed.describe,
                password: parsed.password,
                stats,
                listener,
                closed: Arc::new(tokio::sync::RwLock::new(false)),
                run_seqs: crate::run_seq::RunSeqs::default(),
            }),
        })
    }

    /// One connection outside the pool, its driver spawned.
    async fn connect_direct(
        pg: &tokio_postgres::Config,
        describe: &str,
        password: Option<&str>,
    ) -> Result<tokio_postgres::Client, StoreError> {
        let (client, connection) = pg.connect(NoTls).await.map_err(|e| {
            StoreError::Unavailable(config::scrub(&format!("{describe}: {e}"), password))
        })?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Applies the migrations not applied yet (what `connect` does first);
    /// returns their versions.
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        let mut c = self.direct().await?;
        migrate::migrate(&mut c, &self.inner.schema).await
    }

    /// The migrations this weft knows that the schema has not had yet.
    pub async fn pending_migrations(&self) -> Result<Vec<Migration>, StoreError> {
        let c = self.direct().await?;
        migrate::pending(&c, &self.inner.schema).await
    }

    /// The schema's applied migration versions.
    pub async fn applied_migrations(&self) -> Result<Vec<i32>, StoreError> {
        let c = self.direct().await?;
        migrate::applied(&c, &self.inner.schema).await
    }

    /// Waits until the `LISTEN` connection listens (so commits of other
    /// processes from now on move [`Store::commits`]).
    pub async fn listening(&self) {
        let mut rx = self.inner.stats.listening.subscribe();
        let _ = rx.wait_for(|l| *l).await;
    }

    /// How many times the `LISTEN` connection has started listening (more
    /// than once after it was lost and made again).
    pub fn listens(&self) -> u64 {
        self.inner.stats.listens.load(Ordering::Relaxed)
    }

    async fn direct(&self) -> Result<tokio_postgres::Client, StoreError> {
        Self::connect_direct(
            &self.inner.pg,
            &self.inner.describe,
            self.inner.password.as_deref(),
        )
        .await
    }

    /// A pooled connection, held open against `close`; refused once the
    /// store is closed.
    /// The run numbers this store holds.
    pub(crate) fn run_seqs(&self) -> &crate::run_seq::RunSeqs {
        &self.inner.run_seqs
    }

    pub(crate) async fn client(&self) -> Result<Conn, StoreError> {
        let open = Arc::clone(&self.inner.closed).read_owned().await;
        if *open {
            return Err(StoreError::Unavailable(format!(
                "{}: the store is closed",
                self.inner.describe
            )));
        }
        let client = self.inner.pool.get().await.map_err(|e| {
            StoreError::Unavailable(config::scrub(
                &format!("{}: {e}", self.inner.describe),
                self.inner.password.as_deref(),
            ))
        })?;
        Ok(Conn { client, open })
    }

    /// The schema the tables are in.
    /// This handle's name in its notifications (see [`Stats::origin`]).
    pub(crate) fn origin(&self) -> &str {
        &self.inner.stats.origin
    }

    pub(crate) fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// How many transactions were run again since connect, after
    /// PostgreSQL aborted them for a deadlock or a serialisation failure, or
    /// after a racing insert on a unique key: contention at work.
    pub fn retries(&self) -> u64 {
        self.inner.stats.retries.load(Ordering::Relaxed)
    }

    /// Counts a transaction about to be run again.
    pub(crate) fn note_retry(&self) {
        self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a committed write operation; moves the watch if it wrote.
    pub(crate) fn note_commit(&self, dirty: bool) {
        self.inner.stats.commits.fetch_add(1, Ordering::Relaxed);
        if dirty {
            self.inner.stats.bump();
        }
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    fn describe(&self) -> String {
        self.inner.describe.clone()
    }

    fn commits(&self) -> watch::Receiver<u64> {
        self.inner.stats.committed.subscribe()
    }

    fn foreign_commits(&self) -> Option<watch::Receiver<u64>> {
        Some(self.inner.stats.foreign.subscribe())
    }

    fn run_ends(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        Some(self.inner.stats.ended.subscribe())
    }

    /// Every operation is one transaction, committed durably: commits, durable
    /// commits and operations are the same count, and a batch is one.
    fn writer_stats(&self) -> WriterStats {
        let n = self.inner.stats.commits.load(Ordering::Relaxed);
        WriterStats {
            commits: n,
            durable_commits: n,
            ops: n,
            max_batch: u64::from(n > 0),
        }
    }

    /// Waits for the operations in flight to end, then refuses new ones
    /// ([`StoreError::Unavailable`]) and closes the pool and the `LISTEN`
    /// connection.
    async fn close(&self) {
        *self.inner.closed.write().await = true;
        self.inner.listener.abort();
        self.inner.pool.close();
    }
}

/// A name for one store handle that no other process's handle has: the
/// process id and the time it was made, in ns (letters and digits only, as
/// it is written into a statement).
fn origin() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("p{}t{nanos}", std::process::id())
}
