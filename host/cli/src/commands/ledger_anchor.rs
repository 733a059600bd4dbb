//! `weft ledger anchor --out FILE [--state DIR]`: append every signed head of
//! the store not yet in FILE, one line each: `run seq head signature key`.
//! The file is only ever appended to, so it can be shipped (or tailed) to a
//! place whoever can write the store cannot.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use weft_store_api::RunFilter;

use crate::cli::LedgerAnchorArgs;
use crate::client::StateStore;

/// The runs looked at (every run the store lists).
const MAX_RUNS: usize = usize::MAX;

/// Appends the heads not yet anchored; prints how many.
pub(crate) async fn run(args: LedgerAnchorArgs) -> Result<ExitCode> {
    let state = StateStore::open(&args.state).await?;
    let existing = match std::fs::read_to_string(&args.out) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", args.out.display())),
    };
    let seen: BTreeSet<&str> = existing.lines().collect();
    let mut lines = Vec::new();
    for run in state
        .store
        .runs_list(MAX_RUNS, &RunFilter::default())
        .await?
    {
        for sig in state.store.head_signatures(&run.id).await? {
            let line = format!(
                "{} {} {} {} {}",
                sig.run, sig.seq, sig.head, sig.signature, sig.key
            );
            if !seen.contains(line.as_str()) {
                lines.push(line);
            }
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.out)
        .with_context(|| format!("cannot open {}", args.out.display()))?;
    for line in &lines {
        writeln!(file, "{line}").with_context(|| format!("cannot write {}", args.out.display()))?;
    }
    file.sync_all()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "anchored {} new signed heads in {}",
        lines.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
