//! Warnings about schedules that are valid but useless: a cron line that no
//! time after now matches (`0 0 0 30 2 *`, the 30th of February; a year that
//! has passed) never fires. Not an error, so a flow with one still loads and
//! runs; `weft validate` shows the warning.

use chrono::{DateTime, Utc};

use crate::compiled::CompiledFlow;
use crate::diagnostic::Diagnostic;

/// The warnings of `flow`'s schedules as of `now`, one per cron line that
/// never fires after `now`.
pub fn schedule_warnings(flow: &CompiledFlow, now: DateTime<Utc>) -> Vec<Diagnostic> {
    flow.schedules
        .iter()
        .filter(|s| s.next_after(now).is_none())
        .map(|s| {
            Diagnostic::new(
                &s.location,
                format!(
                    "cron line `{}` never fires: no time after now matches it (in {})",
                    s.cron,
                    s.timezone.name()
                ),
            )
            .help(
                "check the day of the month against the month (e.g. there is no 30 February) \
                 and the year; the line must match a time before 2100",
            )
        })
        .collect()
}
