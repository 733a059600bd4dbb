//! `weft schedules pause|resume FLOW INDEX [--daemon URL] [--json]`: stop a
//! schedule firing, or let it fire again.

use std::process::ExitCode;

use anyhow::Result;

use super::state::print_json;
use crate::cli::ScheduleArgs;
use crate::client::http::{DaemonClient, needs_daemon};

/// Pauses (`pause`) or resumes (`!pause`) the schedule.
pub(crate) fn run(args: ScheduleArgs, pause: bool) -> Result<ExitCode> {
    let verb = if pause { "pause" } else { "resume" };
    let Some(daemon) = DaemonClient::from_flag(args.out.daemon.as_deref()) else {
        return Err(needs_daemon(&format!("weft schedules {verb}"), ""));
    };
    let (_, answer) = daemon.post(
        &format!("/v1/schedules/{}/{}/{verb}", args.flow, args.index),
        None,
    )?;
    if args.out.json {
        print_json(&answer)?;
    } else if pause {
        println!(
            "schedule {} of flow {} paused: no fires until `weft schedules resume {} {}`",
            args.index, args.flow, args.flow, args.index
        );
    } else {
        println!(
            "schedule {} of flow {} resumed: it fires from now on",
            args.index, args.flow
        );
    }
    Ok(ExitCode::SUCCESS)
}
