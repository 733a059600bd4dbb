//! The store's boundary with redb for a damaged file.
//!
//! redb trusts the pages of a file it did not see corrupted: a plain open or
//! read of a file whose bytes were changed outside redb may panic inside redb
//! (`Malformed allocator state`, an index out of range, …) instead of returning
//! an error. Every call from the store into redb therefore runs in [`guarded`],
//! which turns such a panic into [`StoreError::Damaged`] naming the file, and
//! every error that says the file is damaged is given its path too
//! ([`name_file`]).
//!
//! A caught panic would still be printed by the process's panic hook. The
//! first guarded call installs a hook that stays silent for panics raised
//! inside a guarded call on the same thread (their message goes into the
//! error instead) and hands every other panic to the hook it replaced.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use weft_store_api::StoreError;

thread_local! {
    /// How many guarded calls this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The message and place of the last panic caught on this thread.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the hook that keeps guarded panics quiet (once per process).
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) == 0 {
                previous(info);
                return;
            }
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            let place = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            CAUGHT.with(|c| *c.borrow_mut() = Some(format!("{message}{place}")));
        }));
    });
}

/// Leaves a guarded call even when it unwinds.
struct Depth;

impl Depth {
    fn enter() -> Self {
        DEPTH.with(|d| d.set(d.get().saturating_add(1)));
        Self
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `f` (which calls into redb on the store file `path`); a panic in it
/// becomes [`StoreError::Damaged`], and so does an error that says the file
/// is damaged (see [`name_file`]).
pub(crate) fn guarded<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    install_hook();
    let outcome = {
        let _depth = Depth::enter();
        panic::catch_unwind(AssertUnwindSafe(f))
    };
    match outcome {
        Ok(result) => result.map_err(|e| name_file(path, e)),
        Err(_) => {
            let detail = CAUGHT
                .with(|c| c.borrow_mut().take())
                .unwrap_or_else(|| "redb panicked".to_owned());
            Err(StoreError::Damaged {
                path: path.to_owned(),
                detail: format!("redb failed on it: {detail}"),
            })
        }
    }
}

/// Drops `value` (a redb handle whose drop writes to the file) inside a
/// guarded call, so a damaged file cannot panic the process as it closes.
pub(crate) fn guarded_drop<T>(path: &Path, value: T) {
    if let Err(e) = guarded(path, move || {
        drop(value);
        Ok(())
    }) {
        tracing::warn!(path = %path.display(), "closing the store: {e}");
    }
}

/// `e`, as [`StoreError::Damaged`] naming `path` if it says that the file is
/// damaged: redb found it corrupted, a lock inside redb was poisoned by an
/// earlier panic, or a record in it does not decode.
pub(crate) fn name_file(path: &Path, e: StoreError) -> StoreError {
    let detail = match &e {
        StoreError::Corrupt(what) => format!("a record does not decode: {what}"),
        StoreError::Storage(inner) if crate::db::redb_error(&e).is_some_and(is_damage) => {
            inner.to_string()
        }
        _ => return e,
    };
    StoreError::Damaged {
        path: path.to_owned(),
        detail,
    }
}

/// Whether a redb error means the file (or redb's view of it) is damaged. A
/// read past the file's end is damage too: a page pointer in the file points
/// outside it.
fn is_damage(e: &redb::Error) -> bool {
    match e {
        redb::Error::Io(io) => io.kind() == std::io::ErrorKind::UnexpectedEof,
        e => matches!(
            e,
            redb::Error::Corrupted(_)
                | redb::Error::LockPoisoned(_)
                | redb::Error::TableTypeMismatch { .. }
                | redb::Error::TypeDefinitionChanged { .. }
        ),
    }
}

/// Opens the database again (the file, or the backend it lives on).
pub(crate) type Opener = Box<dyn Fn() -> Result<redb::Database, StoreError> + Send + Sync>;

/// The open database and the file it is, closed inside a guarded call when
/// the last handle goes away (closing writes to the file). After an I/O
/// failure redb refuses every later call on the same handle, so the writer
/// [`reopens`](GuardedDb::reopen) it once the disk takes writes again.
pub(crate) struct GuardedDb {
    db: std::sync::RwLock<Option<redb::Database>>,
    path: std::path::PathBuf,
    opener: Opener,
}

impl GuardedDb {
    /// Opens (or creates) the database at `path` with a page cache of at
    /// most `cache_bytes`, guarded.
    pub(crate) fn create(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        let file = path.to_owned();
        Self::with_opener(
            path,
            Box::new(move || {
                redb::Database::builder()
                    .set_cache_size(cache_bytes)
                    .create(&file)
                    .map_err(|e| crate::db::open_error(&file, e))
            }),
        )
    }

    /// Opens the database `opener` opens, naming it `path` in errors, guarded.
    pub(crate) fn with_opener(path: &Path, opener: Opener) -> Result<Self, StoreError> {
        let db = guarded(path, &opener)?;
        Ok(Self {
            db: std::sync::RwLock::new(Some(db)),
            path: path.to_owned(),
            opener,
        })
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the database, guarded.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&redb::Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        guarded(&self.path, || {
            let db = self
                .db
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let db = db
                .as_ref()
                .ok_or_else(|| crate::db::db_error(redb::Error::DatabaseClosed))?;
            f(db)
        })
    }

    /// Closes the database and opens it again: what redb asks for after an
    /// I/O failure. Until an open succeeds, every call fails.
    pub(crate) fn reopen(&self) -> Result<(), StoreError> {
        let mut db = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = db.take() {
            guarded_drop(&self.path, old);
        }
        *db = Some(guarded(&self.path, &self.opener)?);
        Ok(())
    }

    /// Closes the database (its last handle may still be held by readers,
    /// which then get errors).
    fn close(&mut self) {
        let db = self
            .db
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(db) = db {
            guarded_drop(&self.path, db);
        }
    }
}

impl Drop for GuardedDb {
    fn drop(&mut self) {
        self.close();
    }
}
