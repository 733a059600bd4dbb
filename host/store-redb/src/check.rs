//! `check_file`: what is in a store file and what of it is damaged, without
//! changing it (`weft store check`).
//!
//! Two looks at the file. **Pages**: redb's own integrity check (the checksum
//! of every page of the committed trees) runs on a copy next to the file,
//! because it repairs what it checks. **Records**: the file itself, opened
//! read-only, is walked (`check_walk`): every row of every table, every JSON
//! record decoded, every ledger recomputed. A file redb cannot open read-only
//! (not closed cleanly, or too damaged) is walked in the copy instead, as redb
//! recovered it. The read-only handle is held while the copy is made, so no
//! writer can open the file meanwhile.

use crate::db::OrDb;
use std::path::{Path, PathBuf};

use redb::Builder;

pub use crate::check_walk::{TableRows, Walk};
use crate::check_walk::{detail, walk};
use crate::guard::{guarded, guarded_drop};
use weft_store_api::StoreError;

/// What redb's integrity check said of the file's pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageCheck {
    /// Every page of the committed trees verifies.
    Clean,
    /// Some did not; redb repaired the copy (a repair goes back to the last
    /// commit that verifies, so the newest writes may be lost).
    Repairable(String),
    /// redb cannot open or repair the file.
    Unrepairable(String),
    /// The check could not run (e.g. no room for the copy).
    NotChecked(String),
}

/// Which file the records were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walked {
    /// The file itself, read-only.
    File,
    /// The copy, after redb recovered it: the file could not be opened
    /// read-only, for the reason given.
    RecoveredCopy(String),
    /// Neither: why.
    Not(String),
}

/// What [`check_file`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// redb's integrity check.
    pub pages: PageCheck,
    /// Where the records were read.
    pub walked: Walked,
    /// The records.
    pub walk: Walk,
}

impl CheckReport {
    /// True when the pages verify, the file itself was read and no record or
    /// ledger is bad.
    pub fn is_clean(&self) -> bool {
        self.pages == PageCheck::Clean
            && self.walked == Walked::File
            && self.walk.problem_count == 0
    }
}

/// Checks the store file `path`, noting at most `max_problems` problems (all
/// are counted). Changes nothing in the file. An error only when there is no
/// file to check or another process holds it ([`StoreError::AlreadyOpen`]):
/// a damaged file is a report.
pub fn check_file(path: &Path, max_problems: usize) -> Result<CheckReport, StoreError> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| StoreError::Invalid(format!("cannot read {}: {e}", path.display())))?
        .len();
    let read_only = guarded(path, || {
        Builder::new()
            .open_read_only(path)
            .map_err(|e| crate::db::open_error(path, e))
    });
    if let Err(e @ StoreError::AlreadyOpen { .. }) = read_only {
        return Err(e);
    }
    let copy = scratch_copy(path);
    let (pages, recovered) = match &copy {
        Ok(copy) => check_pages(copy),
        Err(e) => (PageCheck::NotChecked(e.clone()), None),
    };
    let (walked, walk) = match (read_only, &recovered) {
        (Ok(db), _) => {
            let w = walk(&db, path, max_problems);
            guarded_drop(path, db);
            (Walked::File, w)
        }
        (Err(e), Some(db)) => (
            Walked::RecoveredCopy(unopened(e)),
            walk(db, path, max_problems),
        ),
        (Err(e), None) => (Walked::Not(unopened(e)), Walk::default()),
    };
    if let (Ok(copy), Some(db)) = (&copy, recovered) {
        guarded_drop(copy, db);
    }
    if let Ok(copy) = &copy {
        let _ = std::fs::remove_file(copy);
    }
    Ok(CheckReport {
        path: path.to_owned(),
        bytes,
        pages,
        walked,
        walk,
    })
}

/// Why the file could not be opened read-only.
fn unopened(e: StoreError) -> String {
    // What a read-only open says of a file that needs the repair of an open.
    if matches!(crate::db::redb_error(&e), Some(redb::Error::RepairAborted)) {
        return "it was not closed cleanly (a crash or a kill); the next open by weft repairs it"
            .to_owned();
    }
    detail(e)
}

/// A copy of `path` next to it, for checks that write.
fn scratch_copy(path: &Path) -> Result<PathBuf, String> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".check-{}", std::process::id()));
    let copy = path.with_file_name(name);
    match std::fs::copy(path, &copy) {
        Ok(_) => Ok(copy),
        Err(e) => {
            let _ = std::fs::remove_file(&copy);
            Err(format!(
                "could not copy the file to {}: {e}",
                copy.display()
            ))
        }
    }
}

/// redb's integrity check on `copy`, and the copy opened if redb could
/// recover it.
fn check_pages(copy: &Path) -> (PageCheck, Option<redb::Database>) {
    let mut db = match guarded(copy, || Builder::new().open(copy).db()) {
        Ok(db) => db,
        // A plain open trusts the recorded allocator state; one that fails on
        // it is tried again with a full check, which trusts nothing.
        Err(first) => {
            let checked = guarded(copy, || {
                Builder::new()
                    .set_check_integrity_on_open(true)
                    .open(copy)
                    .db()
            });
            return match checked {
                Ok(db) => (PageCheck::Repairable(detail(first)), Some(db)),
                Err(e) => (PageCheck::Unrepairable(detail(e)), None),
            };
        }
    };
    match guarded(copy, || db.check_integrity().db()) {
        Ok(true) => (PageCheck::Clean, Some(db)),
        Ok(false) => (
            PageCheck::Repairable("some pages do not verify".to_owned()),
            Some(db),
        ),
        Err(e) => {
            guarded_drop(copy, db);
            (PageCheck::Unrepairable(detail(e)), None)
        }
    }
}
