//! Embedding weft's Wasm runtime in your own Rust program: load a step plugin,
//! call it under limits, and serve its model calls with an adapter plugin.
//!
//! ```sh
//! scripts/build-plugins.sh            # builds plugins/dist/*.wasm
//! cargo run -p weft-tests --example embed -- plugins/dist
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "an example keeps error handling short"
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use weft_core::{PluginKind, RunInfo};
use weft_runtime::{CallContext, CallLimits, Runtime, RuntimeConfig, SingleAdapterHost};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dist = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "plugins/dist".into()),
    );
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("weft-embed-cache")),
        ..RuntimeConfig::default()
    })?;
    let prompt = runtime
        .load_file(&dist.join("prompt.wasm"), PluginKind::Step)
        .await?;
    let model = runtime
        .load_file(&dist.join("mock-model.wasm"), PluginKind::Model)
        .await?;

    let limits = CallLimits {
        timeout: Duration::from_secs(2),
        memory_bytes: 32 << 20,
        ..CallLimits::default()
    };
    let ctx = CallContext::new(limits);
    let host = Arc::new(SingleAdapterHost::new(model, "{}".into(), ctx.clone()));
    let info = RunInfo {
        run_id: "example-2026-11-22-001-abc".into(),
        flow_id: "example".into(),
        step_id: "summarise".into(),
        attempt: 1,
        tenant: "default".into(),
    };
    let output = prompt
        .run_step(
            &ctx.with_step_host(host),
            &info,
            r#"{"model":"mock","template":"Summarise: {{text}}"}"#,
            r#"{"text":"weft runs every plugin in its own sandbox."}"#,
        )
        .await?;
    println!("{output}");
    Ok(())
}
