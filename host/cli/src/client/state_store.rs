//! The state folder and its store, as [`super::LocalClient`] opens them:
//! `--state DIR` is that folder's embedded store, else the store the project's
//! weft.yaml names (`store:`), in its state folder. A folder without runs yet,
//! and a store file another process (a daemon) holds, are errors that say
//! what to do.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use weft_engine::redb_file;
use weft_flow::StoreDecl;
use weft_store_api::{RunRecord, SharedStore, StoreError};
use weft_store_redb::RedbStore;

use crate::cli::StateArgs;
use crate::commands::project::{find_project_file, load_project};

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

    /// Opens the store `decl` names for state folder `dir`.
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

/// Opens the store at `db`; a file another process holds (a running `weft
/// daemon`, most likely) is an error that says how to reach the daemon instead.
fn open_store(db: &Path) -> Result<SharedStore> {
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
fn closest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::normalized_levenshtein(wanted, c), c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
