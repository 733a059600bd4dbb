//! `weft policy set --pool P FILE.wasm [--config JSON]` and `weft retry set
//! --flow F FILE.wasm [--config JSON]`: replace a pool's policy or a flow's
//! retry strategy at run time. The component is checked against its world
//! first (a wrong one is refused and the old one stays); the swap is recorded
//! in the ledger stream `@pool:<name>` / `@retry:<flow>` with the old and new
//! sha256. Through a daemon this is `PUT /v1/pools/{pool}/policy` or
//! `PUT /v1/flows/{flow}/retry`; without one the state folder keeps the
//! override for the next `weft daemon` or `weft run`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::daemon_client::{DaemonClient, segment};
use super::pools::open_local;
use super::state::print_json;
use crate::cli::SwapArgs;

/// What is swapped.
pub(crate) enum Target {
    /// A pool's policy.
    Pool(String),
    /// A flow's retry strategy.
    Retry(String),
}

/// The name a swapped-in component goes by: its file's stem (`fair-share` for
/// `plugins/fair-share.wasm`), when that is a valid name.
fn component_name(file: &Path) -> Option<String> {
    let stem = file.file_stem()?.to_str()?;
    weft_engine::valid_swap_name(stem).then(|| stem.to_owned())
}

/// Swaps the component and prints the report (old and new sha256, ledger seq).
pub(crate) async fn run(target: Target, args: SwapArgs) -> Result<ExitCode> {
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("could not read {}", args.file.display()))?;
    let config: Option<Value> = args
        .config
        .as_deref()
        .map(|text| super::json_arg("--config", text))
        .transpose()?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .context("--config is not JSON")?;
    let name = component_name(&args.file);
    let report = match DaemonClient::from_flag(args.state.daemon.as_deref()) {
        Some(daemon) => {
            let path = match &target {
                Target::Pool(p) => format!("/v1/pools/{}/policy", segment(p)),
                Target::Retry(f) => format!("/v1/flows/{}/retry", segment(f)),
            };
            let mut query: Vec<(&str, String)> =
                config.iter().map(|c| ("config", c.to_string())).collect();
            query.extend(name.iter().map(|n| ("name", n.clone())));
            daemon.put_bytes(&path, &query, &wasm)?
        }
        None => {
            let engine = open_local(&args.state).await?;
            let done = match &target {
                Target::Pool(p) => engine.set_pool_policy_named(p, name, &wasm, config).await,
                Target::Retry(f) => {
                    engine
                        .set_retry_strategy_named(f, name, &wasm, config)
                        .await
                }
            };
            engine.store().clone().close().await;
            json!(done?)
        }
    };
    if args.state.json {
        print_json(&report)?;
    } else {
        let text = |key: &str| report.get(key).and_then(Value::as_str).unwrap_or("-");
        let named = report
            .get("name")
            .and_then(Value::as_str)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        println!(
            "swapped {}: {} -> {}{named}",
            text("key"),
            text("old_sha256"),
            text("new_sha256")
        );
        println!(
            "recorded in {} seq {}",
            text("stream"),
            report.get("seq").and_then(Value::as_u64).unwrap_or(0)
        );
    }
    Ok(ExitCode::SUCCESS)
}
