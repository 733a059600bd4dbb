//! The command line of `weft store …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `weft store …`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Check the store file: redb's page checksums, every table read, every
    /// record decoded, every run's ledger verified. Changes nothing (unless
    /// `--repair`); exits non-zero when something is damaged.
    Check(StoreCheckArgs),
    /// Bring the PostgreSQL schema `store:` names up to this weft's version
    /// (daemons do it at start too); the embedded store needs none.
    Migrate(StoreMigrateArgs),
    /// Copy every run, ledger, journal, schedule state, lock and cost row
    /// from one store to another (the embedded file to PostgreSQL, or back),
    /// then verify every copied ledger's head. The source must not be in use.
    Copy(StoreCopyArgs),
}

/// Arguments of `weft store copy`.
#[derive(Debug, Args)]
pub struct StoreCopyArgs {
    /// The store to copy: a state folder (its weft.redb), `postgres` (the
    /// project's `store:`, else $WEFT_DATABASE_URL) or `postgres:VAR` (the
    /// URL in $VAR).
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// The store to copy into, written as SRC is.
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// The project folder whose weft.yaml `postgres` means (default: found
    /// from here).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// Arguments of `weft store migrate`.
#[derive(Debug, Args)]
pub struct StoreMigrateArgs {
    /// The project folder (the one with weft.yaml; default: found from here).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// Arguments of `weft store check`.
#[derive(Debug, Args)]
pub struct StoreCheckArgs {
    /// The project folder (the one with weft.yaml; default: found from here).
    #[arg(long, value_name = "DIR", conflicts_with = "state")]
    pub project: Option<PathBuf>,
    /// The state folder itself (default: the project's, `.weft/` next to weft.yaml).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Let redb repair the file, after copying it to `weft.redb.bak-<time>`;
    /// then check it again and report what was saved.
    #[arg(long)]
    pub repair: bool,
    /// Show at most this many problems (all are counted).
    #[arg(long, default_value_t = 20)]
    pub max_problems: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
