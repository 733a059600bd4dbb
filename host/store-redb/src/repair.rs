//! `repair_file`: let redb repair a damaged store file, after copying it
//! aside (`weft store check --repair`).

use crate::db::OrDb;
use std::path::{Path, PathBuf};

use redb::Builder;

use crate::check::{CheckReport, PageCheck, Walked, check_file};
use crate::check_walk::detail;
use crate::guard::{guarded, guarded_drop};
use weft_store_api::StoreError;

/// What [`repair_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairOutcome {
    /// The pages verify and the file opens: there was nothing for redb to
    /// repair (bad records, if any, are in the report).
    NothingToRepair,
    /// redb repaired the file.
    Repaired,
    /// redb could not: why. The file is as it was.
    Failed(String),
}

/// What a repair did, with the checks before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The copy of the file as it was, if one was made (only when redb had
    /// something to repair).
    pub backup: Option<PathBuf>,
    /// The check before.
    pub before: CheckReport,
    /// The repair.
    pub outcome: RepairOutcome,
    /// The check after (what was saved), unless the file could not be
    /// checked again.
    pub after: Option<CheckReport>,
}

/// Checks the store file `path`; if redb has something to repair, copies the
/// file to `backup` (which must not exist), opens it with a full integrity
/// check (redb repairs what it can: a tree that does not verify is rolled back
/// to the last commit that does) and checks it again. Errors as
/// [`check_file`], and when the copy cannot be made (nothing is repaired then).
pub fn repair_file(
    path: &Path,
    backup: &Path,
    max_problems: usize,
) -> Result<RepairReport, StoreError> {
    let before = check_file(path, max_problems)?;
    if before.pages == PageCheck::Clean && before.walked == Walked::File {
        return Ok(RepairReport {
            backup: None,
            before,
            outcome: RepairOutcome::NothingToRepair,
            after: None,
        });
    }
    if backup.exists() {
        return Err(StoreError::Invalid(format!(
            "{} already exists; move it away or name another backup",
            backup.display()
        )));
    }
    copy_synced(path, backup).map_err(|e| {
        StoreError::Invalid(format!(
            "could not copy {} to {} before repairing it: {e}; nothing was changed",
            path.display(),
            backup.display()
        ))
    })?;
    let opened = guarded(path, || {
        Builder::new()
            .set_check_integrity_on_open(true)
            .open(path)
            .db()
    });
    let outcome = match opened {
        Ok(db) => {
            guarded_drop(path, db);
            RepairOutcome::Repaired
        }
        Err(e) => RepairOutcome::Failed(detail(e)),
    };
    let after = check_file(path, max_problems).ok();
    Ok(RepairReport {
        backup: Some(backup.to_owned()),
        before,
        outcome,
        after,
    })
}

/// Copies `from` to `to` and syncs the copy to disk.
fn copy_synced(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to)?;
    std::fs::File::open(to)?.sync_all()
}
