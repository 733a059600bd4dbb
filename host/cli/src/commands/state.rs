//! The small helpers the commands that show runs share: times, durations,
//! previews, JSON on stdout, and the error for a dead letter that is not
//! there. (The state folder's store is opened by [`crate::client`].)

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use serde_json::Value;
use weft_store_api::{DeadLetter, RunRecord};

/// The dead letter of task `task` among `dead`, or an error naming `place` and
/// listing the tasks there are.
pub(crate) fn find_dead_letter(
    dead: Vec<DeadLetter>,
    task: u64,
    place: &str,
) -> Result<DeadLetter> {
    let ids: Vec<String> = dead.iter().map(|d| d.task.to_string()).collect();
    if let Some(found) = dead.into_iter().find(|d| d.task == task) {
        return Ok(found);
    }
    let hint = if ids.is_empty() {
        "; the dead-letter queue is empty".to_owned()
    } else {
        format!("; dead-lettered tasks: {}", ids.join(", "))
    };
    bail!("no dead-lettered task `{task}` in {place}{hint}")
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `ms` since the epoch as `2026-11-22 08:15:02 UTC`.
pub(crate) fn utc_time(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms"),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// A duration in ms as `850ms`, `12.3s`, `4m05s` or `2h03m`.
pub(crate) fn human_duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// How long a run took (finished) or has taken so far.
pub(crate) fn run_duration_ms(run: &RunRecord) -> u64 {
    let end = if run.status.is_final() {
        run.updated_ms
    } else {
        now_ms()
    };
    end.saturating_sub(run.created_ms)
}

/// `value` as compact JSON, cut to `max` characters with `…`.
pub(crate) fn preview(value: &Value, max: usize) -> String {
    cut(&value.to_string(), max)
}

/// `text` cut to `max` characters, the last being `…` when it was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('\u{2026}');
    out
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
