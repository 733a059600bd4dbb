//! The command line of `weft ledger …` and of `weft runs verify`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::{RunIdArgs, StateArgs};

/// `weft ledger …`: keys that sign ledger heads, and an anchor file of them
/// (docs/storage.md, "Tamper evidence").
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Make an Ed25519 key pair for signing ledger heads: the private key
    /// (mode 0600) in FILE, the public key in FILE.pub and on stdout. Point
    /// weft.yaml's `ledger.signing_key` (or $WEFT_LEDGER_SIGNING_KEY) at FILE;
    /// give FILE.pub to `weft runs verify --public-key`.
    Keygen(LedgerKeygenArgs),
    /// Append one line `run seq head signature public-key` per signed head
    /// not yet in FILE (made if missing, never rewritten): a copy to ship
    /// where whoever can write the store cannot.
    Anchor(LedgerAnchorArgs),
}

/// Arguments of `weft ledger keygen`.
#[derive(Debug, Args)]
pub struct LedgerKeygenArgs {
    /// The private key file to write (refused if it exists).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where the public key goes (default: FILE.pub).
    #[arg(long, value_name = "FILE")]
    pub public_out: Option<PathBuf>,
}

/// Arguments of `weft ledger anchor`.
#[derive(Debug, Args)]
pub struct LedgerAnchorArgs {
    /// The anchor file to append to.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `weft runs verify`.
#[derive(Debug, Args)]
pub struct RunsVerifyArgs {
    #[command(flatten)]
    pub run: RunIdArgs,
    /// Also check the run's signed heads with this public key (from `weft
    /// ledger keygen`): each signature must verify and the ledger must still
    /// hold each signed head; events after the last one are an unsigned tail,
    /// an error once the run has ended. Needs the store (`--state`).
    #[arg(long, value_name = "FILE", conflicts_with = "daemon")]
    pub public_key: Option<PathBuf>,
}
