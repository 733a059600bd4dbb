//! One PostgreSQL transaction per operation: [`Tx`] wraps a pooled
//! connection inside `BEGIN … COMMIT`, and `write_tx!` runs an operation in
//! one, again from the start when PostgreSQL aborted it for a deadlock, a
//! serialisation failure or a racing insert on a unique key (the rerun sees
//! the winner), at most [`MAX_ATTEMPTS`] times.
//!
//! A refusal (any error that is not a storage failure) commits: like redb's
//! writer, an operation checks before it writes, and the only writes before a
//! refusal are its own record (a stale token's). A storage failure rolls back.
//!
//! At commit a transaction that appended to a run's ledger adds its changes
//! to `change_pending` (readers of the feed give them seqs later, see
//! `crate::feed`) and `NOTIFY`s `weft_commits` with the schema as payload.
//!
//! A read-only snapshot sends its `BEGIN` with its first statement (one round
//! trip, not two) and does not wait for its `ROLLBACK`: the connection goes
//! back to the pool once the server has answered it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use weft_store_api::StoreError;

/// How often an operation is tried before its last error is returned.
pub(crate) const MAX_ATTEMPTS: u32 = 40;

/// The channel every write transaction notifies.
pub(crate) const CHANNEL: &str = "weft_commits";

/// Between the schema and the run id in the notification of a run's end
/// (`<schema>:end:<run>`).
pub(crate) const END_MARK: &str = ":end:";

/// Between the schema and the committing store's origin in a commit's
/// notification (`<schema>:from:<origin>`; before origins, the schema alone).
pub(crate) const FROM_MARK: &str = ":from:";

/// SQL parameters.
pub(crate) type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// A PostgreSQL error as the contract's: a lost connection is
/// [`StoreError::Unavailable`] (not run again: it may have been lost during
/// the commit, whose outcome is then unknown), anything else
/// [`StoreError::Storage`].
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    // Class 08: connection exceptions; 57P: the server shutting down or
    // terminating the connection.
    let lost_code = e
        .code()
        .is_some_and(|c| c.code().starts_with("08") || c.code().starts_with("57P"));
    if e.is_closed() || lost_code {
        StoreError::Unavailable(format!("the connection to PostgreSQL was lost: {e}"))
    } else {
        StoreError::storage(e)
    }
}

/// An operation that found its premise changed under it (a racing insert
/// that did not conflict on a constraint): run it again.
#[derive(Debug, thiserror::Error)]
#[error("a concurrent transaction changed what this one read; it runs again")]
pub(crate) struct RunAgain;

/// The error that makes `write_tx!` run the operation again.
pub(crate) fn run_again() -> StoreError {
    StoreError::storage(RunAgain)
}

/// Whether `e` means the transaction should be run again.
pub(crate) fn is_retryable(e: &StoreError) -> bool {
    use tokio_postgres::error::SqlState;
    let StoreError::Storage(inner) = e else {
        return false;
    };
    if inner.downcast_ref::<RunAgain>().is_some() {
        return true;
    }
    inner
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::code)
        .is_some_and(|code| {
            *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::UNIQUE_VIOLATION
        })
}

/// Waits a little before attempt `n` again (grows, with jitter from the
/// attempt's own address so that racers spread out).
pub(crate) async fn backoff(n: u32) {
    let base = 1u64 << n.min(6);
    let jitter = u64::from(std::process::id() % 7) + u64::from(n % 3);
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

/// How a transaction ended.
pub(crate) enum End<T> {
    /// Committed (the result may be a refusal).
    Done(Result<T, StoreError>),
    /// Rolled back for a storage failure.
    Failed(StoreError),
    /// Rolled back; run it again.
    Retry(StoreError),
}

/// An open transaction on one pooled connection.
///
/// A `Tx` dropped before [`Tx::end`] or [`Tx::end_read`] (its caller's
/// future was cancelled mid-transaction) takes its connection out of the
/// pool and closes it, so the server rolls the transaction back and no later
/// caller runs inside it.
pub(crate) struct Tx<'a> {
    c: Option<deadpool_postgres::Client>,
    /// Keeps `close` waiting until this transaction ended.
    _open: tokio::sync::OwnedRwLockReadGuard<bool>,
    schema: &'a str,
    /// The store's origin, named in the commit's notification.
    origin: &'a str,
    changes: Mutex<Vec<String>>,
    /// Runs this transaction ended (announced with the commit).
    ended: Mutex<Vec<String>>,
    dirty: AtomicBool,
    /// A `BEGIN` not sent yet (it goes with the first statement).
    begin: Mutex<Option<&'static str>>,
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.c.take() {
            drop(deadpool_postgres::Object::take(c));
        }
    }
}

impl<'a> Tx<'a> {
    /// `BEGIN` (read committed: every statement sees what committed before
    /// it; the operations lock the rows they decide on).
    pub(crate) async fn begin(
        c: crate::store::Conn,
        schema: &'a str,
        origin: &'a str,
    ) -> Result<Self, StoreError> {
        let mut tx = Self::new(c, schema);
        tx.origin = origin;
        tx.c()?.batch_execute("BEGIN").await.map_err(pg)?;
        Ok(tx)
    }

    /// `BEGIN` a read-only snapshot: every statement sees the same commits.
    /// The `BEGIN` goes with the first statement (see [`Tx::sent`]).
    pub(crate) async fn snapshot(
        c: crate::store::Conn,
        schema: &'a str,
    ) -> Result<Self, StoreError> {
        let tx = Self::new(c, schema);
        if let Ok(mut begin) = tx.begin.lock() {
            *begin = Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        }
        Ok(tx)
    }

    fn new(c: crate::store::Conn, schema: &'a str) -> Self {
        Self {
            c: Some(c.client),
            _open: c.open,
            schema,
            origin: "",
            changes: Mutex::new(Vec::new()),
            ended: Mutex::new(Vec::new()),
            dirty: AtomicBool::new(false),
            begin: Mutex::new(None),
        }
    }

    /// Awaits `statement`, after the transaction's `BEGIN` if it has not
    /// been sent yet: both in one round trip. tokio-postgres sends a request
    /// when its future is first polled and answers in order ("pipelining"),
    /// and `join` polls the `BEGIN` first. Only a read-only snapshot defers
    /// its `BEGIN`: a statement that ran without it would only have read.
    async fn sent<T>(
        &self,
        c: &deadpool_postgres::Client,
        statement: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        let begin = self.begin.lock().ok().and_then(|mut b| b.take());
        match begin {
            Some(begin) => {
                let (began, answer) =
                    futures_util::future::join(c.batch_execute(begin), statement).await;
                began.map_err(pg)?;
                answer.map_err(pg)
            }
            None => statement.await.map_err(pg),
        }
    }

    /// Whether the deferred `BEGIN` was sent (a statement ran).
    fn began(&self) -> bool {
        self.begin.lock().map(|b| b.is_none()).unwrap_or(true)
    }

    /// The connection (there until the transaction ended).
    fn c(&self) -> Result<&deadpool_postgres::Client, StoreError> {
        self.c
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the transaction has ended".into()))
    }

    /// Hands the connection back to the pool (the transaction is over).
    fn release(mut self) {
        drop(self.c.take());
    }

    /// Rows of a statement that writes nothing (or only locks).
    pub(crate) async fn rows(&self, sql: &str, p: Params<'_>) -> Result<Vec<Row>, StoreError> {
        let c = self.c()?;
        let st = c.prepare_cached(sql).await.map_err(pg)?;
        self.sent(c, c.query(&st, p)).await
    }

    /// At most one row of a statement that writes nothing.
    pub(crate) async fn row(&self, sql: &str, p: Params<'_>) -> Result<Option<Row>, StoreError> {
        let c = self.c()?;
        let st = c.prepare_cached(sql).await.map_err(pg)?;
        self.sent(c, c.query_opt(&st, p)).await
    }

    /// Runs a statement that writes; returns how many rows it changed.
    pub(crate) async fn exec(&self, sql: &str, p: Params<'_>) -> Result<u64, StoreError> {
        let c = self.c()?;
        let st = c.prepare_cached(sql).await.map_err(pg)?;
        let n = self.sent(c, c.execute(&st, p)).await?;
        if n > 0 {
            self.dirty.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }

    /// Rows of a statement that writes (`… RETURNING`).
    pub(crate) async fn wrows(&self, sql: &str, p: Params<'_>) -> Result<Vec<Row>, StoreError> {
        let rows = self.rows(sql, p).await?;
        if !rows.is_empty() {
            self.dirty.store(true, Ordering::Relaxed);
        }
        Ok(rows)
    }

    /// Records that `run`'s ledger grew (the change feed gets it at commit).
    pub(crate) fn changed(&self, run: &str) {
        if let Ok(mut changes) = self.changes.lock() {
            changes.push(run.to_owned());
        }
    }

    /// Records that `run` ended (its waiters in every process hear of it
    /// when the transaction commits).
    pub(crate) fn ended(&self, run: &str) {
        if let Ok(mut ended) = self.ended.lock() {
            ended.push(run.to_owned());
        }
    }

    /// Whether the transaction wrote anything.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }

    /// Commits or rolls back after `result` (see the module docs).
    pub(crate) async fn end<T>(self, result: Result<T, StoreError>) -> End<T> {
        let end = match result {
            Err(e) if is_retryable(&e) => {
                self.rollback().await;
                End::Retry(e)
            }
            Err(e) if e.is_storage_failure() => {
                self.rollback().await;
                End::Failed(e)
            }
            r => match self.commit().await {
                Ok(()) => End::Done(r),
                Err(e) if is_retryable(&e) => {
                    self.rollback().await;
                    End::Retry(e)
                }
                Err(e) => {
                    self.rollback().await;
                    End::Failed(e)
                }
            },
        };
        self.release();
        end
    }

    /// Ends a read-only snapshot without waiting for the server: its
    /// `ROLLBACK` is answered in the background, and only then does the
    /// connection go back to the pool (a connection whose `ROLLBACK` fails is
    /// closed instead).
    pub(crate) async fn end_read(mut self) {
        if !self.began() {
            self.release();
            return;
        }
        let Some(c) = self.c.take() else {
            return;
        };
        tokio::spawn(async move {
            if c.batch_execute("ROLLBACK").await.is_err() {
                drop(deadpool_postgres::Object::take(c));
            }
        });
    }

    async fn rollback(&self) {
        // A connection whose rollback fails is broken; the pool drops it.
        if let Ok(c) = self.c() {
            let _ = c.batch_execute("ROLLBACK").await;
        }
    }

    async fn commit(&self) -> Result<(), StoreError> {
        let changes = self
            .changes
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        if !changes.is_empty() {
            // No lock: readers give these rows their seqs once this
            // transaction has ended (`crate::feed`).
            self.exec(
                "INSERT INTO change_pending (run_id) SELECT unnest($1::text[])",
                &[&changes],
            )
            .await?;
        }
        let ended = self
            .ended
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default();
        if !ended.is_empty() {
            // Delivered to every listener when (and only if) this commits.
            let ends: Vec<String> = ended
                .iter()
                .map(|run| format!("{}{END_MARK}{run}", self.schema))
                .collect();
            self.exec(
                &format!("SELECT pg_notify('{CHANNEL}', e) FROM unnest($1::text[]) e"),
                &[&ends],
            )
            .await?;
        }
        // The schema is a checked identifier (config::parse), so it can be
        // written into the statement; the notification goes with the commit.
        let end = if self.is_dirty() {
            format!(
                "SELECT pg_notify('{CHANNEL}', '{}{FROM_MARK}{}'); COMMIT",
                self.schema, self.origin
            )
        } else {
            "COMMIT".to_owned()
        };
        self.c()?.batch_execute(&end).await.map_err(pg)
    }
}

/// Runs `$body` (an expression using the transaction `$t`, awaited inside)
/// in a write transaction of `$store`, again on a retryable abort.
macro_rules! write_tx {
    ($store:expr, $t:ident => $body:expr) => {{
        let store: &$crate::store::PgStore = $store;
        let mut attempt: u32 = 0;
        loop {
            let client = store.client().await?;
            let $t = $crate::tx::Tx::begin(client, store.schema(), store.origin()).await?;
            let result = $body;
            let dirty = $t.is_dirty();
            match $t.end(result).await {
                $crate::tx::End::Done(r) => {
                    store.note_commit(dirty);
                    break r;
                }
                $crate::tx::End::Failed(e) => break Err(e),
                $crate::tx::End::Retry(e) => {
                    store.note_retry();
                    attempt += 1;
                    if attempt >= $crate::tx::MAX_ATTEMPTS {
                        break Err(e);
                    }
                    $crate::tx::backoff(attempt).await;
                }
            }
        }
    }};
}

/// Runs `$body` on a read-only snapshot of `$store`.
macro_rules! read_tx {
    ($store:expr, $t:ident => $body:expr) => {{
        let store: &$crate::store::PgStore = $store;
        let client = store.client().await?;
        let $t = $crate::tx::Tx::snapshot(client, store.schema()).await?;
        let result = $body;
        $t.end_read().await;
        result
    }};
}

pub(crate) use {read_tx, write_tx};
