//! The state folder and its store, for the commands that read or change runs
//! (`weft runs …`, `weft dlq …`), and the small formatting helpers they share.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::time::Duration;

use weft_engine::redb_file;
use weft_flow::StoreDecl;
use weft_store_api::{DeadLetter, RunRecord, SharedStore, StoreError};
use weft_store_redb::RedbStore;

use super::project::{find_project_file, load_project};
use crate::cli::StateArgs;

/// The state folder and the store `weft.yaml` names: with `--state DIR`, that
/// folder's embedded store; else the project's (found from here).
fn state_and_store(args: &StateArgs) -> Result<(PathBuf, StoreDecl)> {
    match &args.state {
        Some(dir) => Ok((dir.clone(), StoreDecl::Redb)),
        None => {
            let project = load_project(&find_project_file()?)?;
            Ok((project.state_dir, project.store))
        }
    }
}

/// How long a command waits for a database store that cannot be reached.
const COMMAND_STORE_WAIT: Duration = Duration::from_secs(5);

/// An open store and the folder it lives in.
pub(crate) struct StateStore {
    /// The state folder (the index and caches live there; with the embedded
    /// store, the runs too).
    pub dir: PathBuf,
    /// Where the runs are, for messages: the state folder, or the database.
    pub place: String,
    /// The store.
    pub store: SharedStore,
}

impl StateStore {
    /// Opens the store of `args`' project; a state folder without an
    /// embedded store is an error.
    pub(crate) async fn open(args: &StateArgs) -> Result<Self> {
        let (dir, decl) = state_and_store(args)?;
        if decl == StoreDecl::Redb {
            let db = redb_file(&dir);
            if !db.is_file() {
                bail!(
                    "no runs in {}: it has no weft.redb (start one with `weft run FLOW`)",
                    dir.display()
                );
            }
        }
        Self::open_decl(dir, &decl).await
    }

    /// Opens the store of `args`' project, creating the state folder and the
    /// embedded store if there is none yet (for locks, which need no run).
    pub(crate) async fn open_or_create(args: &StateArgs) -> Result<Self> {
        let (dir, decl) = state_and_store(args)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create the state folder {}", dir.display()))?;
        Self::open_decl(dir, &decl).await
    }

    async fn open_decl(dir: PathBuf, decl: &StoreDecl) -> Result<Self> {
        let (store, place) = match decl {
            StoreDecl::Redb => (open_store(&redb_file(&dir))?, dir.display().to_string()),
            StoreDecl::Postgres(_) => {
                let store = weft_engine::open_store(decl, &dir, COMMAND_STORE_WAIT).await?;
                let place = store.describe();
                (store, place)
            }
        };
        Ok(Self { dir, place, store })
    }

    /// The run `id`, or an error naming the state folder and a close id.
    pub(crate) async fn run(&self, id: &str) -> Result<RunRecord> {
        if let Some(run) = self.store.run_get(id).await? {
            return Ok(run);
        }
        let known = self
            .store
            .runs_list(usize::MAX, &weft_store_api::RunFilter::default())
            .await?;
        let hint = closest(id, known.iter().map(|r| r.id.as_str()))
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        bail!("no run `{id}` in {}{hint}", self.place)
    }
}

/// The dead letter of task `task` among `dead`, or an error naming `place` and
/// listing the tasks there are.
pub(crate) fn find_dead_letter(
    dead: Vec<DeadLetter>,
    task: u64,
    place: &str,
) -> Result<DeadLetter> {
    let ids: Vec<String> = dead.iter().map(|d| d.task.to_string()).collect();
    if let Some(found) = dead.into_iter().find(|d| d.task == task) {
        return Ok(found);
    }
    let hint = if ids.is_empty() {
        "; the dead-letter queue is empty".to_owned()
    } else {
        format!("; dead-lettered tasks: {}", ids.join(", "))
    };
    bail!("no dead-lettered task `{task}` in {place}{hint}")
}

/// Opens the store at `db`; a file another process holds (a running `weft
/// daemon`, most likely) is an error that says how to reach the daemon instead.
pub(crate) fn open_store(db: &Path) -> Result<SharedStore> {
    match RedbStore::open(db) {
        Ok(store) => Ok(Arc::new(store)),
        Err(StoreError::AlreadyOpen { .. }) => bail!(
            "{} is in use by another process, most likely a running `weft daemon`; \
             talk to the daemon with `--daemon URL` or `WEFT_DAEMON=URL` \
             (e.g. http://127.0.0.1:7878)",
            db.display()
        ),
        Err(e) => Err(e).with_context(|| format!("could not open {}", db.display())),
    }
}

/// The candidate closest to `wanted` by edit distance, if it is close enough.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::normalized_levenshtein(wanted, c), c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `ms` since the epoch as `2026-11-22 08:15:02 UTC`.
pub(crate) fn utc_time(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms"),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// A duration in ms as `850ms`, `12.3s`, `4m05s` or `2h03m`.
pub(crate) fn human_duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// How long a run took (finished) or has taken so far.
pub(crate) fn run_duration_ms(run: &RunRecord) -> u64 {
    let end = if run.status.is_final() {
        run.updated_ms
    } else {
        now_ms()
    };
    end.saturating_sub(run.created_ms)
}

/// `value` as compact JSON, cut to `max` characters with `…`.
pub(crate) fn preview(value: &Value, max: usize) -> String {
    cut(&value.to_string(), max)
}

/// `text` cut to `max` characters, the last being `…` when it was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('\u{2026}');
    out
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
