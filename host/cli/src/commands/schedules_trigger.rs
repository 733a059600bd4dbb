//! `weft schedules trigger FLOW INDEX [--daemon URL] [--json]`: one run of a
//! schedule now (also while it is paused).

use std::process::ExitCode;

use anyhow::Result;

use super::state::print_json;
use crate::cli::ScheduleArgs;
use crate::client::http::{DaemonClient, field, needs_daemon};

/// Fires the schedule once and prints the run it created.
pub(crate) fn run(args: ScheduleArgs) -> Result<ExitCode> {
    let Some(daemon) = DaemonClient::from_flag(args.out.daemon.as_deref()) else {
        return Err(needs_daemon("weft schedules trigger", ""));
    };
    let (_, fired) = daemon.post(
        &format!("/v1/schedules/{}/{}/trigger", args.flow, args.index),
        None,
    )?;
    if args.out.json {
        print_json(&fired)?;
        return Ok(ExitCode::SUCCESS);
    }
    let run_id: String = field(&fired, "run_id")?;
    let key: String = field(&fired, "idempotency_key")?;
    println!("{run_id}");
    eprintln!(
        "schedule {} of flow {} fired (idempotency key {key})",
        args.index, args.flow
    );
    Ok(ExitCode::SUCCESS)
}
