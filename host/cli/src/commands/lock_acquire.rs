//! `weft lock acquire KEY [--ttl 30s] [--owner NAME] [--state DIR | --daemon URL]
//! [--json]`: take a lock (or renew one this owner holds) and print its fencing
//! token on stdout, alone, so that `TOKEN=$(weft lock acquire KEY)` works. When
//! another owner holds it: exit 1 naming the holder and its expiry.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;
use weft_store_api::LockAcquire;

use super::state::{human_duration, now_ms, print_json, utc_time};
use crate::cli::LockAcquireArgs;
use crate::client;

/// Takes the lock from the daemon, or from the state folder's store.
pub(crate) async fn run(args: LockAcquireArgs) -> Result<ExitCode> {
    let owner = args.owner.clone().unwrap_or_else(default_owner);
    let ttl_ms = u64::try_from(args.ttl.as_millis()).unwrap_or(u64::MAX);
    let answer = client::with_client(&args.state, async |client| {
        client.lock_acquire(&args.key, &owner, ttl_ms).await
    })
    .await?;
    match answer {
        LockAcquire::Acquired { lock, renewed } => {
            if args.state.json {
                let mut view = json!(lock);
                view["acquired"] = json!(true);
                view["renewed"] = json!(renewed);
                print_json(&view)?;
            } else {
                let how = if renewed { "renewed" } else { "acquired" };
                eprintln!(
                    "{how} lock `{}` for {} until {} (token {})",
                    lock.key,
                    lock.owner,
                    utc_time(lock.expires_ms),
                    lock.token
                );
                println!("{}", lock.token);
            }
            Ok(ExitCode::SUCCESS)
        }
        LockAcquire::Held { owner, expires_ms } => {
            let message = format!(
                "lock `{}` is held by {owner} until {} (for another {}); \
                 try again later, or ask its holder to release it",
                args.key,
                utc_time(expires_ms),
                human_duration(expires_ms.saturating_sub(now_ms()))
            );
            if !args.state.json {
                bail!(message);
            }
            print_json(&json!({
                "key": args.key,
                "acquired": false,
                "held_by": owner,
                "expires_ms": expires_ms,
            }))?;
            eprintln!("error: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `user@host:pid` of this process.
fn default_owner() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{user}@{host}:{}", std::process::id())
}
