//! `weft lock release KEY --token T [--state DIR | --daemon URL] [--json]`:
//! release a lock with the token `weft lock acquire` printed.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::state::print_json;
use crate::cli::LockReleaseArgs;
use crate::client;

/// Releases the lock on the daemon, or in the state folder's store. A lock that
/// is not held, or another token, is an error (exit 1).
pub(crate) async fn run(args: LockReleaseArgs) -> Result<ExitCode> {
    let (owner, token) = client::with_client(&args.state, async |client| {
        client.lock_release(&args.key, args.token).await
    })
    .await?;
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
