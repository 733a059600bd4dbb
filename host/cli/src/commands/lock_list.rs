//! `weft lock list [--state DIR | --daemon URL] [--json]`: the locks held now.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use weft_store_api::LockRecord;

use super::state::{human_duration, now_ms, print_json, utc_time};
use crate::cli::StateArgs;
use crate::client;

/// Prints the locks held now (expired ones are not shown), by key.
pub(crate) async fn run(args: StateArgs) -> Result<ExitCode> {
    let client = client::open(&args);
    let locks: Vec<LockRecord> = client.locks().await?;
    let place = client.place().await?;
    if args.json {
        print_json(&json!(locks))?;
        return Ok(ExitCode::SUCCESS);
    }
    if locks.is_empty() {
        eprintln!("no locks are held in {place}");
        return Ok(ExitCode::SUCCESS);
    }
    let key_width = locks.iter().map(|l| l.key.len()).max().unwrap_or(0).max(3);
    let owner_width = locks
        .iter()
        .map(|l| l.owner.len())
        .max()
        .unwrap_or(0)
        .max(5);
    println!(
        "{:key_width$}  {:owner_width$}  {:>6}  EXPIRES",
        "KEY", "OWNER", "TOKEN"
    );
    let now = now_ms();
    for lock in &locks {
        println!(
            "{:key_width$}  {:owner_width$}  {:>6}  {} (in {})",
            lock.key,
            lock.owner,
            lock.token,
            utc_time(lock.expires_ms),
            human_duration(lock.expires_ms.saturating_sub(now))
        );
    }
    Ok(ExitCode::SUCCESS)
}
