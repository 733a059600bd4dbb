//! The single writer: one thread owns every write transaction.
//!
//! Callers send a job (a closure over [`Tables`]) and wait on a oneshot. The
//! writer takes the first job, drains every job already waiting (up to
//! [`MAX_BATCH`]), applies them in order in ONE write transaction, commits it with
//! `Durability::Immediate` and only then replies to each caller: group commit.
//!
//! A job may be *volatile* (the leases and renewals of workers in this process,
//! `WorkerSite::InProcess`): a batch of volatile jobs only commits with
//! `Durability::None` (no fsync). redb makes such a commit durable with the next
//! durable one, and a crash that loses it loses only leases that the same crash
//! ends (fencing tokens stay unique: see `ops::queue::LeaseAsk`).
//!
//! A job's refusal (any error that is not a storage failure) is decided before the
//! job writes anything except its own refusal record, so it is handed to that
//! caller alone and the batch commits. A storage failure aborts the transaction;
//! the writer then re-runs each job of the batch in a transaction of its own so
//! that only the job that cannot commit gets the error.
//!
//! An I/O failure (a full disk) is nobody's job's fault: every job of the batch
//! gets [`StoreError::Unavailable`], nothing of it is committed, and redb's
//! handle is unusable from then on. The writer closes and reopens the database
//! (redb recovers it to its last commit) at once and, while that fails, before
//! each later batch, which is refused the same way until it succeeds. So a
//! full disk refuses new work, loses nothing that was acknowledged, and the
//! store takes writes again once there is space, without a restart.

use crate::db::OrDb;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, Durability};

use crate::guard::GuardedDb;
use tokio::sync::{mpsc, oneshot, watch};

use crate::tables::Tables;
use weft_store_api::StoreError;
use weft_store_api::WriterStats;

/// The most jobs one transaction takes.
pub const MAX_BATCH: usize = 1024;

/// An operation as the writer runs it; it may run more than once (see module docs).
pub type OpFn<T> = Box<dyn Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send>;

/// A job with its result type erased.
pub trait Job: Send {
    /// Applies the job; `Err` only for a storage failure (the batch must abort).
    fn apply(&mut self, t: &mut Tables<'_>) -> Result<(), StoreError>;
    /// Hands the result of the last `apply` to the caller (after the commit).
    fn reply(self: Box<Self>);
    /// Hands `error` to the caller instead.
    fn reply_err(self: Box<Self>, error: StoreError);
    /// Whether its caller must not hear back before the commit is on disk.
    fn durable(&self) -> bool;
}

/// A job whose caller waits for a `T`.
pub struct TypedJob<T> {
    op: OpFn<T>,
    durable: bool,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T> TypedJob<T> {
    /// A job and the receiver its caller awaits; a `durable` job is answered
    /// only after an fsyncing commit.
    pub fn new(op: OpFn<T>, durable: bool) -> (Self, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, rx) = oneshot::channel();
        let job = Self {
            op,
            durable,
            result: None,
            reply,
        };
        (job, rx)
    }
}

impl<T: Send> Job for TypedJob<T> {
    fn apply(&mut self, t: &mut Tables<'_>) -> Result<(), StoreError> {
        match (self.op)(t) {
            Err(e) if e.is_storage_failure() => Err(e),
            other => {
                self.result = Some(other);
                Ok(())
            }
        }
    }

    fn reply(self: Box<Self>) {
        let result = self.result.unwrap_or(Err(StoreError::WriterGone));
        // The caller may have gone away; its operation is committed regardless.
        let _ = self.reply.send(result);
    }

    fn reply_err(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }

    fn durable(&self) -> bool {
        self.durable
    }
}

/// What callers send to the writer.
pub enum Msg {
    /// Run this job.
    Job(Box<dyn Job>),
    /// Finish the jobs already taken, release the database and acknowledge.
    Close(oneshot::Sender<()>),
}

/// Counters shared between the writer and the handles.
pub struct Stats {
    commits: AtomicU64,
    durable_commits: AtomicU64,
    ops: AtomicU64,
    max_batch: AtomicU64,
    /// Bumped after every commit, for readers that wait for a change.
    committed: watch::Sender<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            commits: AtomicU64::new(0),
            durable_commits: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            max_batch: AtomicU64::new(0),
            committed: watch::Sender::new(0),
        }
    }
}

impl Stats {
    /// A receiver that changes after every commit.
    pub fn watch_commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// A snapshot.
    pub fn snapshot(&self) -> WriterStats {
        WriterStats {
            commits: self.commits.load(Ordering::Relaxed),
            durable_commits: self.durable_commits.load(Ordering::Relaxed),
            ops: self.ops.load(Ordering::Relaxed),
            max_batch: self.max_batch.load(Ordering::Relaxed),
        }
    }

    fn committed(&self, jobs: usize, durable: bool) {
        let jobs = u64::try_from(jobs).unwrap_or(u64::MAX);
        self.commits.fetch_add(1, Ordering::Relaxed);
        if durable {
            self.durable_commits.fetch_add(1, Ordering::Relaxed);
        }
        self.ops.fetch_add(jobs, Ordering::Relaxed);
        self.max_batch.fetch_max(jobs, Ordering::Relaxed);
        // `send_modify` notifies whether or not anyone listens.
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Starts the writer thread.
pub fn spawn(
    db: Arc<GuardedDb>,
    stats: Arc<Stats>,
) -> Result<mpsc::UnboundedSender<Msg>, StoreError> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("weft-store-writer".into())
        .spawn(move || run(db, rx, &stats))
        .map_err(StoreError::storage)?;
    Ok(tx)
}

fn run(db: Arc<GuardedDb>, mut rx: mpsc::UnboundedReceiver<Msg>, stats: &Stats) {
    let mut broken = false;
    while let Some(first) = rx.blocking_recv() {
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        let mut close = None;
        match first {
            Msg::Job(job) => batch.push(job),
            Msg::Close(ack) => close = Some(ack),
        }
        while close.is_none() && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Close(ack)) => close = Some(ack),
                Err(_) => break,
            }
        }
        if !batch.is_empty() && broken {
            match reopen(&db) {
                Ok(()) => broken = false,
                Err(error) => {
                    refuse_all(batch, &error);
                    batch = Vec::new();
                }
            }
        }
        if !batch.is_empty() {
            // Reopen at once, so reads work again as soon as the disk allows.
            broken = commit_batch(&db, batch, stats) && reopen(&db).is_err();
        }
        if let Some(ack) = close {
            // Refuse whatever is still queued, release the file, then acknowledge.
            drop(rx);
            drop(db);
            let _ = ack.send(());
            return;
        }
    }
}

/// Closes and reopens the database after an I/O failure.
fn reopen(db: &GuardedDb) -> Result<(), StoreError> {
    let reopened = db.reopen();
    match &reopened {
        Ok(()) => tracing::info!(path = %db.path().display(), "the store is open again"),
        Err(error) => tracing::warn!(%error, "the store cannot be reopened yet"),
    }
    reopened
}

/// Commits the batch and answers its jobs; `true` when an I/O failure left
/// the database to be reopened.
fn commit_batch(db: &GuardedDb, mut batch: Vec<Box<dyn Job>>, stats: &Stats) -> bool {
    // A damaged file can make redb panic mid-batch: that is an error of the
    // batch (`with` is guarded).
    match db.with(|d| apply_all(d, &mut batch)) {
        Ok(durable) => {
            stats.committed(batch.len(), durable);
            for job in batch {
                job.reply();
            }
            false
        }
        Err(error) if crate::db::is_io_failure(&error) => {
            tracing::error!(%error, jobs = batch.len(), "the store cannot write; refusing the batch");
            refuse_all(batch, &error);
            true
        }
        Err(error) if batch.len() == 1 => {
            tracing::warn!(%error, "store write failed");
            if let Some(job) = batch.pop() {
                job.reply_err(error);
            }
            false
        }
        Err(error) => {
            tracing::warn!(%error, jobs = batch.len(), "batch failed; retrying its jobs one by one");
            let mut broken = false;
            for job in batch {
                // After an I/O failure the rest are refused by the caller's reopen.
                if broken {
                    refuse_all(vec![job], &unavailable(&error));
                } else {
                    broken = commit_batch(db, vec![job], stats);
                }
            }
            broken
        }
    }
}

/// `error` for a caller whose job was not committed because the disk failed.
fn unavailable(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
        other => StoreError::Unavailable(format!("the store cannot write: {other}")),
    }
}

/// Answers every job of `batch` with [`unavailable`]`(error)`.
fn refuse_all(batch: Vec<Box<dyn Job>>, error: &StoreError) {
    for job in batch {
        job.reply_err(unavailable(error));
    }
}

/// Applies and commits the batch; whether the commit was durable.
fn apply_all(db: &Database, batch: &mut [Box<dyn Job>]) -> Result<bool, StoreError> {
    let durable = batch.iter().any(|job| job.durable());
    let durability = if durable {
        Durability::Immediate
    } else {
        Durability::None
    };
    let mut tx = db.begin_write().db()?;
    tx.set_durability(durability).db()?;
    {
        let mut tables = Tables::open(&tx)?;
        for job in batch.iter_mut() {
            job.apply(&mut tables)?;
        }
    }
    tx.commit().db()?;
    Ok(durable)
}
