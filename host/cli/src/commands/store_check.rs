//! `weft store check [--project DIR | --state DIR] [--repair] [--json]`: what
//! is in the store file and what of it is damaged; with `--repair`, redb's
//! repair after a copy of the file is kept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use weft_store_api::StoreError;
use weft_store_redb::{
    CheckReport, PageCheck, RepairOutcome, RepairReport, Walked, check_file, repair_file,
};

use super::project::{find_project_file, load_project};
use super::state::{now_ms, print_json};
use crate::cli::StoreCheckArgs;

/// Checks (or repairs) the store; exit 0 when it is clean (after the repair).
pub(crate) fn run(args: &StoreCheckArgs) -> Result<ExitCode> {
    let dir = state_dir(args)?;
    let db = dir.join("weft.redb");
    if !db.is_file() {
        bail!(
            "no store in {}: it has no weft.redb (weft makes one at the first run)",
            dir.display()
        );
    }
    let clean = if args.repair {
        let backup = backup_path(&db);
        let report = repair_file(&db, &backup, args.max_problems).map_err(|e| in_use(&db, e))?;
        if args.json {
            print_json(&repair_json(&report))?;
        } else {
            print_repair(&report);
        }
        report.after.as_ref().unwrap_or(&report.before).is_clean()
    } else {
        let report = check_file(&db, args.max_problems).map_err(|e| in_use(&db, e))?;
        if args.json {
            print_json(&check_json(&report))?;
        } else {
            print_check(&report);
        }
        report.is_clean()
    };
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--state`, else the state folder of `--project`'s weft.yaml, else of the
/// project found from here.
fn state_dir(args: &StoreCheckArgs) -> Result<PathBuf> {
    if let Some(dir) = &args.state {
        return Ok(dir.clone());
    }
    let file = match &args.project {
        Some(dir) => {
            let file = dir.join("weft.yaml");
            if !file.is_file() {
                bail!(
                    "{} has no weft.yaml; name the project folder, or the state folder with --state",
                    dir.display()
                );
            }
            file
        }
        None => find_project_file()?,
    };
    Ok(load_project(&file)?.state_dir)
}

/// `weft.redb.bak-<UTC time>` next to `db`.
fn backup_path(db: &Path) -> PathBuf {
    let stamp = i64::try_from(now_ms())
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || now_ms().to_string(),
            |t| t.format("%Y%m%dT%H%M%S%.3fZ").to_string(),
        );
    db.with_file_name(format!("weft.redb.bak-{stamp}"))
}

/// A file another process holds gets advice; other errors as they are.
fn in_use(db: &Path, e: StoreError) -> anyhow::Error {
    match e {
        StoreError::AlreadyOpen { .. } => anyhow::anyhow!(
            "{} is in use by another process, most likely a running `weft daemon`; \
             stop it first: a check needs the file to itself",
            db.display()
        ),
        other => anyhow::anyhow!("could not check {}: {other}", db.display()),
    }
}

/// The pages verdict in words.
fn pages_text(pages: &PageCheck) -> String {
    match pages {
        PageCheck::Clean => "clean (every page's checksum verifies)".to_owned(),
        PageCheck::Repairable(why) => {
            format!("DAMAGED ({why}); redb can repair it: `weft store check --repair`")
        }
        PageCheck::Unrepairable(why) => format!("DAMAGED beyond redb's repair: {why}"),
        PageCheck::NotChecked(why) => format!("not checked: {why}"),
    }
}

/// Where the records were read, in words.
fn walked_text(walked: &Walked) -> String {
    match walked {
        Walked::File => "read from the file".to_owned(),
        Walked::RecoveredCopy(why) => {
            format!("read from a copy as redb recovers it; the file itself cannot be read: {why}")
        }
        Walked::Not(why) => format!("NOT READ: {why}"),
    }
}

fn print_check(r: &CheckReport) {
    println!("store {} ({} bytes)", r.path.display(), r.bytes);
    println!("pages:   {}", pages_text(&r.pages));
    println!("records: {}", walked_text(&r.walked));
    let w = &r.walk;
    let rows: Vec<String> = w
        .tables
        .iter()
        .filter(|t| t.rows > 0)
        .map(|t| format!("{} {}", t.name, t.rows))
        .collect();
    if !rows.is_empty() {
        println!("tables:  {}", rows.join(", "));
    }
    println!(
        "runs readable: {}; ledgers: {} verified, {} broken ({} events)",
        w.runs, w.ledgers_verified, w.ledgers_broken, w.events
    );
    if w.problem_count > 0 {
        println!("problems ({} of {}):", w.problems.len(), w.problem_count);
        for p in &w.problems {
            println!("  - {p}");
        }
    }
    if r.is_clean() {
        println!("verdict: clean");
    } else {
        println!(
            "verdict: DAMAGED; `weft store check --repair` copies the file aside and lets redb repair it"
        );
    }
}

fn print_repair(r: &RepairReport) {
    let path = r.before.path.display();
    match &r.outcome {
        RepairOutcome::NothingToRepair => {
            println!("{path}: nothing for redb to repair (its pages verify and it opens)");
            print_check(&r.before);
            return;
        }
        RepairOutcome::Repaired => println!("redb repaired {path}"),
        RepairOutcome::Failed(why) => {
            println!("redb could not repair {path}: {why}; the file is as it was");
            println!(
                "restore it from a backup, or move it aside to start with an empty store \
                 (weft makes a new one; the runs in it are then gone)"
            );
        }
    }
    if let Some(backup) = &r.backup {
        println!("the file as it was is kept at {}", backup.display());
    }
    match &r.after {
        Some(after) => {
            println!("after the repair:");
            print_check(after);
        }
        None => println!("the file could not be checked after the repair"),
    }
}

fn check_json(r: &CheckReport) -> Value {
    let (pages, pages_detail) = match &r.pages {
        PageCheck::Clean => ("clean", None),
        PageCheck::Repairable(d) => ("repairable", Some(d)),
        PageCheck::Unrepairable(d) => ("unrepairable", Some(d)),
        PageCheck::NotChecked(d) => ("not-checked", Some(d)),
    };
    let (walked, walked_detail) = match &r.walked {
        Walked::File => ("file", None),
        Walked::RecoveredCopy(d) => ("recovered-copy", Some(d)),
        Walked::Not(d) => ("not-read", Some(d)),
    };
    let w = &r.walk;
    json!({
        "path": r.path,
        "bytes": r.bytes,
        "clean": r.is_clean(),
        "pages": pages,
        "pages_detail": pages_detail,
        "records": walked,
        "records_detail": walked_detail,
        "tables": w.tables.iter().map(|t| json!({"name": t.name, "rows": t.rows})).collect::<Vec<_>>(),
        "runs": w.runs,
        "ledgers_verified": w.ledgers_verified,
        "ledgers_broken": w.ledgers_broken,
        "events": w.events,
        "problem_count": w.problem_count,
        "problems": w.problems,
    })
}

fn repair_json(r: &RepairReport) -> Value {
    let (outcome, detail) = match &r.outcome {
        RepairOutcome::NothingToRepair => ("nothing-to-repair", None),
        RepairOutcome::Repaired => ("repaired", None),
        RepairOutcome::Failed(d) => ("failed", Some(d)),
    };
    json!({
        "outcome": outcome,
        "detail": detail,
        "backup": r.backup,
        "before": check_json(&r.before),
        "after": r.after.as_ref().map(check_json),
    })
}
