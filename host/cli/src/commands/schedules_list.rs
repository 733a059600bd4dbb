//! `weft schedules list [--daemon URL] [--json]`: the flows' cron schedules as
//! the daemon fires them.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::state::{print_json, utc_time};
use crate::cli::DaemonOutArgs;
use crate::client::http::{DaemonClient, field, needs_daemon};

/// Prints every schedule: flow, index, cron, timezone, paused, fires, last and
/// next fire.
pub(crate) fn run(args: DaemonOutArgs) -> Result<ExitCode> {
    let Some(daemon) = DaemonClient::from_flag(args.daemon.as_deref()) else {
        return Err(needs_daemon("weft schedules list", ""));
    };
    let answer = daemon.get("/v1/schedules", &[])?;
    let schedules: Vec<Value> = field(&answer, "schedules")?;
    if args.json {
        print_json(&Value::Array(schedules))?;
        return Ok(ExitCode::SUCCESS);
    }
    if schedules.is_empty() {
        eprintln!("no schedules in the flows of {}", daemon.url());
        return Ok(ExitCode::SUCCESS);
    }
    let text = |s: &Value, key: &str| s.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let time = |s: &Value, key: &str| {
        s.get(key)
            .and_then(Value::as_u64)
            .map_or_else(|| "-".to_owned(), utc_time)
    };
    let flow_width = schedules
        .iter()
        .map(|s| text(s, "flow").len())
        .max()
        .unwrap_or(0)
        .max(4);
    let cron_width = schedules
        .iter()
        .map(|s| text(s, "cron").len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:flow_width$}  {:>5}  {:cron_width$}  {:6}  {:>5}  {:23}  NEXT FIRE",
        "FLOW", "INDEX", "CRON", "STATE", "FIRES", "LAST FIRE"
    );
    for s in &schedules {
        let paused = s.get("paused").and_then(Value::as_bool).unwrap_or(false);
        println!(
            "{:flow_width$}  {:>5}  {:cron_width$}  {:6}  {:>5}  {:23}  {}",
            text(s, "flow"),
            s.get("index").and_then(Value::as_u64).unwrap_or(0),
            text(s, "cron"),
            if paused { "paused" } else { "active" },
            s.get("fires").and_then(Value::as_u64).unwrap_or(0),
            time(s, "last_fire_ms"),
            time(s, "next_fire_ms"),
        );
    }
    Ok(ExitCode::SUCCESS)
}
