//! `weft lock release KEY --token T [--state DIR | --daemon URL] [--json]`:
//! release a lock with the token `weft lock acquire` printed.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::daemon_client::{DaemonClient, field, segment};
use super::state::{StateStore, now_ms, print_json};
use crate::cli::LockReleaseArgs;

/// Releases the lock on the daemon, or in the state folder's store. A lock that
/// is not held, or another token, is an error (exit 1).
pub(crate) async fn run(args: LockReleaseArgs) -> Result<ExitCode> {
    let (owner, token) = match DaemonClient::from_flag(args.state.daemon.as_deref()) {
        Some(daemon) => {
            let path = format!("/v1/locks/{}?token={}", segment(&args.key), args.token);
            let answer = daemon.delete(&path)?;
            (
                field::<String>(&answer, "owner")?,
                field::<u64>(&answer, "token")?,
            )
        }
        None => {
            let state = StateStore::open_or_create(&args.state).await?;
            let released = state
                .store
                .lock_release(&args.key, args.token, now_ms())
                .await;
            state.store.close().await;
            let lock = released?;
            (lock.owner, lock.token)
        }
    };
    if args.state.json {
        print_json(&json!({
            "key": args.key,
            "owner": owner,
            "token": token,
            "released": true,
        }))?;
    } else {
        println!(
            "released lock `{}` (token {token}, held by {owner})",
            args.key
        );
    }
    Ok(ExitCode::SUCCESS)
}
