//! `weft store copy --from SRC --to DST [--project DIR]`: copies every run
//! (with its tasks, ledger, journal, outputs, artifacts, dead letters and
//! idempotency key), then schedules, locks, costs, id sequences and counters
//! from one store to another — the embedded redb file to PostgreSQL, or back —
//! and verifies that every copied ledger has the same head on the target.
//!
//! SRC and DST are a state folder (its `weft.redb`), `postgres` (the
//! project's `store:` if it is PostgreSQL, else `$WEFT_DATABASE_URL` with
//! schema `weft`) or `postgres:VAR` (the URL in `$VAR`). A copy interrupted
//! half way can be run again: runs already copied identically are skipped.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use weft_flow::{PostgresDecl, StoreDecl};
use weft_store_api::{RunExport, SharedStore};

use super::project::{find_project_file, load_project};
use crate::cli_store::StoreCopyArgs;

/// Runs read from the source at a time.
const PAGE: usize = 500;
/// A progress line every this many runs.
const PROGRESS: u64 = 1_000;
/// How long to wait for a PostgreSQL server that is down.
const WAIT: Duration = Duration::from_secs(10);

/// Where a copy reads or writes.
enum End {
    /// The embedded store: this redb file.
    Redb(PathBuf),
    /// A PostgreSQL schema.
    Postgres(PostgresDecl),
}

/// What was copied, for the summary.
#[derive(Default)]
struct Copied {
    runs: u64,
    events: u64,
    journal: u64,
    /// (run id, ledger events, head hash) as on the source.
    heads: Vec<(String, u64, String)>,
}

/// Copies SRC into DST and verifies every run; exit 1 on any mismatch.
pub(crate) async fn run(args: &StoreCopyArgs) -> Result<ExitCode> {
    let from = parse_end(&args.from, args.project.as_deref(), true)?;
    let to = parse_end(&args.to, args.project.as_deref(), false)?;
    if let (End::Redb(a), End::Redb(b)) = (&from, &to)
        && a == b
    {
        bail!("--from and --to are the same store ({})", a.display());
    }
    let src = open(&from, "source").await?;
    let dst = open(&to, "target").await?;
    println!("copying {} -> {}", src.describe(), dst.describe());
    let outcome = copy(&src, &dst).await;
    let result = match outcome {
        Ok(copied) => verify(&dst, &copied).await,
        Err(e) => Err(e),
    };
    src.close().await;
    dst.close().await;
    result
}

/// SRC or DST as written on the command line.
fn parse_end(spec: &str, project: Option<&Path>, source: bool) -> Result<End> {
    if spec == "postgres" {
        return Ok(End::Postgres(project_postgres(project)?));
    }
    if let Some(var) = spec.strip_prefix("postgres:") {
        if var.is_empty() {
            bail!(
                "`postgres:` needs the name of the variable holding the URL, e.g. postgres:WEFT_DATABASE_URL"
            );
        }
        return Ok(End::Postgres(PostgresDecl {
            url_env: var.to_owned(),
            ..PostgresDecl::default()
        }));
    }
    let path = PathBuf::from(spec);
    let file = if path.extension().is_some_and(|e| e == "redb") {
        path
    } else {
        weft_engine::redb_file(&path)
    };
    if source && !file.is_file() {
        bail!(
            "{} has no store to copy (no {}); name a state folder, `postgres` or `postgres:VAR`",
            spec,
            file.display()
        );
    }
    Ok(End::Redb(file))
}

/// The project's PostgreSQL `store:`, else the default one
/// (`$WEFT_DATABASE_URL`, schema `weft`).
fn project_postgres(project: Option<&Path>) -> Result<PostgresDecl> {
    let file = match project {
        Some(dir) => Some(dir.join("weft.yaml")),
        None => find_project_file().ok(),
    };
    if let Some(file) = file.filter(|f| f.is_file())
        && let StoreDecl::Postgres(decl) = load_project(&file)?.store
    {
        return Ok(decl);
    }
    Ok(PostgresDecl::default())
}

/// Opens one end; a redb file a daemon holds is refused with what to do.
async fn open(end: &End, role: &str) -> Result<SharedStore> {
    match end {
        End::Redb(file) => {
            if let Some(dir) = file.parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("could not create {}", dir.display()))?;
            }
            open_redb(file, role)
        }
        End::Postgres(decl) => {
            let decl = StoreDecl::Postgres(decl.clone());
            weft_engine::open_store(&decl, Path::new("."), WAIT)
                .await
                .with_context(|| format!("could not open the {role} store"))
        }
    }
}

/// Opens a redb file, refusing one held by another process.
fn open_redb(file: &Path, role: &str) -> Result<SharedStore> {
    match weft_store_redb::RedbStore::open(file) {
        Ok(store) => Ok(std::sync::Arc::new(store)),
        Err(weft_store_api::StoreError::AlreadyOpen { .. }) => bail!(
            "the {role} store {} is in use by another process, most likely a running \
             `weft daemon`; stop it first (a copy needs the store to itself)",
            file.display()
        ),
        Err(e) => Err(e).with_context(|| format!("could not open {}", file.display())),
    }
}

/// Copies every run, then the rest; prints progress and the summary.
async fn copy(src: &SharedStore, dst: &SharedStore) -> Result<Copied> {
    let mut copied = Copied::default();
    let mut after: Option<String> = None;
    loop {
        let page = src
            .export_runs(after.clone(), PAGE)
            .await
            .context("could not read runs from the source")?;
        let Some(last) = page.last() else { break };
        after = Some(last.id().to_owned());
        for run in page {
            note(&mut copied, &run);
            let id = run.id().to_owned();
            dst.import_run(run)
                .await
                .with_context(|| format!("could not copy run {id}"))?;
            if copied.runs.is_multiple_of(PROGRESS) {
                println!("  {} runs copied", copied.runs);
            }
        }
    }
    let rest = src
        .export_rest()
        .await
        .context("could not read schedules, locks and costs from the source")?;
    let (schedules, locks, costs) = (rest.schedules.len(), rest.locks.len(), rest.cost_rows.len());
    dst.import_rest(rest)
        .await
        .context("could not copy schedules, locks and costs")?;
    println!(
        "copied {} runs, {} ledger events, {} journal entries, {schedules} schedules, \
         {locks} locks, {costs} cost rows",
        copied.runs, copied.events, copied.journal
    );
    Ok(copied)
}

/// Counts a run and keeps its source head.
fn note(copied: &mut Copied, run: &RunExport) {
    copied.runs += 1;
    copied.events += run.events.len() as u64;
    copied.journal += run.journal.len() as u64;
    let (seq, hash) = run.head.clone().unwrap_or_default();
    copied.heads.push((run.id().to_owned(), seq, hash));
}

/// Checks that every copied run verifies on the target to the source's head.
async fn verify(dst: &SharedStore, copied: &Copied) -> Result<ExitCode> {
    let mut bad = 0u64;
    for (id, seq, hash) in &copied.heads {
        let report = dst.verify(id).await?;
        let head = dst
            .run_events(id, seq.saturating_sub(1))
            .await?
            .and_then(|r| r.events.last().map(|e| (e.seq, e.hash.clone())))
            .unwrap_or_default();
        let problem = if let Some(first) = &report.first_bad {
            Some(format!(
                "does not verify at seq {}: {}",
                first.seq, first.reason
            ))
        } else if report.events != *seq || head != (*seq, hash.clone()) {
            Some(format!(
                "head is seq {} {} on the target but seq {seq} {hash} on the source",
                head.0, head.1
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            bad += 1;
            eprintln!("run {id}: {problem}");
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} runs do not match their source", copied.runs);
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "verified: all {} runs have the same ledger head on the target",
        copied.runs
    );
    Ok(ExitCode::SUCCESS)
}
