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
use serde_json::Value;

use super::state::print_json;
use crate::cli::SwapArgs;
use crate::client::{self, Swap};
pub(crate) use weft_core::SwapTarget as Target;

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
    let swap = Swap {
        target: &target,
        name,
        wasm: &wasm,
        config,
    };
    let report = client::with_client(&args.state, async |client| client.swap(swap).await).await?;
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
