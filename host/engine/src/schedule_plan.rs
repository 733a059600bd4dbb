//! What a tick does for one schedule: which fires are due, which of them are
//! missed, what the missed-fire policy keeps; and the keys that name schedules
//! and fires. Pure functions of the schedule, its last handled fire and `now`.

use chrono::{DateTime, SecondsFormat, Utc};
use weft_flow::{Missed, Schedule};

/// A fire more than this late (ms) at the tick that handles it is *missed*,
/// and the schedule's `missed:` policy decides about it; a fire at most this
/// late is *on time* and always fires (like Quartz's misfire threshold).
pub const MISSED_GRACE_MS: u64 = 60_000;

/// How long (ms) the idempotency key of a cron fire names its run: 400 days,
/// far longer than any downtime or clock step a fire must survive. (Keys of
/// runs submitted by hand keep `Engine::idempotency_ttl_ms`: weft.yaml's
/// `idempotency.ttl`.)
pub const CRON_KEY_TTL_MS: u64 = 400 * 24 * 60 * 60 * 1000;

/// The window the search for the most recent missed fires starts with (ms);
/// it grows eightfold until it holds enough of them.
const FIRST_WINDOW_MS: u64 = 60_000;

/// The key that names schedule `index` of a flow in the store, stable while
/// the entry keeps its place, cron line and time zone: `<index>|<cron>|<tz>`,
/// e.g. `0|0 */5 * * * *|Europe/Paris`. Editing the input or the missed-fire
/// policy keeps the key (and the schedule's state); editing the line, the zone
/// or the entry's place makes a new schedule.
pub fn schedule_key(index: usize, schedule: &Schedule) -> String {
    format!(
        "{index}|{}|{}",
        schedule.cron.trim(),
        schedule.timezone.name()
    )
}

/// `cron:<flow>:` for the first entry of a flow, `cron:<flow>#<index>:` for the
/// others (two entries may fire at the same time).
fn key_prefix(flow: &str, index: usize) -> String {
    if index == 0 {
        format!("cron:{flow}:")
    } else {
        format!("cron:{flow}#{index}:")
    }
}

/// The idempotency key of a fire: `cron:<flow>:<fire time>` with the time in
/// RFC 3339, UTC, whole seconds (`cron:nightly:2026-03-29T00:30:00Z`);
/// `cron:<flow>#<index>:<fire time>` for entries after the first.
pub fn fire_key(flow: &str, index: usize, fire_ms: u64) -> String {
    format!(
        "{}{}",
        key_prefix(flow, index),
        rfc3339(fire_ms, SecondsFormat::Secs)
    )
}

/// The idempotency key of a manual trigger at `now`:
/// `cron:<flow>:manual:<now>` (RFC 3339, UTC, milliseconds).
pub fn manual_key(flow: &str, index: usize, now: u64) -> String {
    format!(
        "{}manual:{}",
        key_prefix(flow, index),
        rfc3339(now, SecondsFormat::Millis)
    )
}

/// `ms` as RFC 3339 in UTC (`Z`).
pub fn rfc3339(ms: u64, format: SecondsFormat) -> String {
    match to_time(ms) {
        Some(t) => t.to_rfc3339_opts(format, true),
        None => format!("{ms}ms"),
    }
}

fn to_time(ms: u64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
}

fn to_ms(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

/// The first fire of `schedule` strictly after `after` (ms).
pub fn next_fire_after(schedule: &Schedule, after: u64) -> Option<u64> {
    schedule.next_after(to_time(after)?).map(to_ms)
}

/// Every fire in `(after, until]`, oldest first.
fn fires_in(schedule: &Schedule, after: u64, until: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut t = after;
    while let Some(next) = next_fire_after(schedule, t) {
        if next > until || next <= t {
            break;
        }
        out.push(next);
        t = next;
    }
    out
}

/// The most recent `n` fires in `(after, until]`, oldest first. Looks back in a
/// window that grows eightfold, so a long downtime of a dense schedule costs
/// about as much as the fires kept.
fn last_fires(schedule: &Schedule, after: u64, until: u64, n: usize) -> Vec<u64> {
    if n == 0 || until <= after {
        return Vec::new();
    }
    let mut span = FIRST_WINDOW_MS;
    loop {
        let from = until.saturating_sub(span).max(after);
        let mut fires = fires_in(schedule, from, until);
        if fires.len() >= n || from == after {
            let drop = fires.len().saturating_sub(n);
            fires.drain(..drop);
            return fires;
        }
        span = span.saturating_mul(8);
    }
}

/// What one tick does for one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The fire times to submit, oldest first.
    pub fires: Vec<u64>,
    /// The newest due fire (fired or dropped): the schedule's new last fire.
    pub handled_up_to: u64,
}

/// The plan of a tick at `now` for a schedule whose last handled fire is
/// `last`; `None` when no fire is due.
///
/// Due: the fires in `(last, now]`. Of those, the ones at most `grace` late
/// (`now - fire <= grace`) are on time and fire. The others are missed:
/// `skip` drops them, `catch-up: N` fires the most recent N of them (oldest
/// first, before the on-time ones) and drops the rest.
pub fn plan(schedule: &Schedule, last: u64, now: u64, grace: u64) -> Option<Plan> {
    if now <= last {
        return None;
    }
    // On time: fire >= now - grace, i.e. fire > now - grace - 1.
    let on_time_after = now.saturating_sub(grace).saturating_sub(1).max(last);
    let on_time = fires_in(schedule, on_time_after, now);
    let keep = match schedule.missed {
        Missed::Skip => 0,
        Missed::CatchUp(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    // When nothing is on time, the newest missed fire is needed all the same
    // (it becomes the last handled fire).
    let look = if on_time.is_empty() {
        keep.max(1)
    } else {
        keep
    };
    let missed = last_fires(schedule, last, on_time_after, look);
    let handled_up_to = on_time.last().or(missed.last()).copied()?;
    let kept = missed.len().saturating_sub(keep);
    let mut fires: Vec<u64> = missed.into_iter().skip(kept).collect();
    fires.extend(on_time);
    Some(Plan {
        fires,
        handled_up_to,
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "a test should fail loudly"
    )]

    use std::str::FromStr;

    use super::*;

    const MIN: u64 = 60_000;
    /// 2026-01-01T00:00:00Z.
    const T0: u64 = 1_767_225_600_000;

    fn every_minute(missed: Missed) -> Schedule {
        Schedule {
            cron: "0 * * * * *".into(),
            schedule: cron::Schedule::from_str("0 * * * * *").unwrap(),
            timezone: chrono_tz::Tz::UTC,
            input: serde_json::json!({}),
            missed,
            location: weft_flow::Location {
                file: "test.yaml".into(),
                line: 1,
                column: 1,
            },
        }
    }

    #[test]
    fn keys_name_the_flow_the_entry_and_the_fire() {
        assert_eq!(
            fire_key("nightly", 0, T0),
            "cron:nightly:2026-01-01T00:00:00Z"
        );
        assert_eq!(
            fire_key("nightly", 2, T0 + 1500),
            "cron:nightly#2:2026-01-01T00:00:01Z"
        );
        assert_eq!(
            manual_key("nightly", 0, T0 + 1500),
            "cron:nightly:manual:2026-01-01T00:00:01.500Z"
        );
        let s = every_minute(Missed::Skip);
        assert_eq!(schedule_key(1, &s), "1|0 * * * * *|UTC");
    }

    #[test]
    fn on_time_fires_fire_and_nothing_is_due_twice() {
        let s = every_minute(Missed::Skip);
        let p = plan(&s, T0 + 10_000, T0 + MIN + 5_000, MISSED_GRACE_MS).unwrap();
        assert_eq!(p.fires, [T0 + MIN]);
        assert_eq!(p.handled_up_to, T0 + MIN);
        assert_eq!(plan(&s, T0 + MIN, T0 + MIN + 30_000, MISSED_GRACE_MS), None);
        assert_eq!(plan(&s, T0 + MIN, T0 + MIN, MISSED_GRACE_MS), None);
        assert_eq!(plan(&s, T0 + MIN, T0, MISSED_GRACE_MS), None);
    }

    #[test]
    fn a_fire_exactly_grace_late_is_on_time_one_ms_more_is_missed() {
        let s = every_minute(Missed::Skip);
        let p = plan(&s, T0, T0 + 2 * MIN, MISSED_GRACE_MS).unwrap();
        assert_eq!(p.fires, [T0 + MIN, T0 + 2 * MIN]);
        let p = plan(&s, T0, T0 + 2 * MIN + 1, MISSED_GRACE_MS).unwrap();
        assert_eq!(p.fires, [T0 + 2 * MIN]);
        assert_eq!(p.handled_up_to, T0 + 2 * MIN);
    }

    #[test]
    fn skip_drops_missed_fires_and_catch_up_keeps_the_most_recent() {
        let now = T0 + 11 * MIN + 5_000;
        let skip = plan(&every_minute(Missed::Skip), T0 + MIN, now, MISSED_GRACE_MS).unwrap();
        assert_eq!(skip.fires, [T0 + 11 * MIN]);
        assert_eq!(skip.handled_up_to, T0 + 11 * MIN);
        let catch_up = plan(
            &every_minute(Missed::CatchUp(3)),
            T0 + MIN,
            now,
            MISSED_GRACE_MS,
        )
        .unwrap();
        let expected: Vec<u64> = [8, 9, 10, 11].iter().map(|m| T0 + m * MIN).collect();
        assert_eq!(catch_up.fires, expected);
        assert_eq!(catch_up.handled_up_to, T0 + 11 * MIN);
    }

    #[test]
    fn only_missed_fires_still_move_the_last_fire() {
        // Every five minutes, ticked 90 s after the second fire: nothing on time.
        let every_five = |missed| {
            let mut s = every_minute(missed);
            s.schedule = cron::Schedule::from_str("0 */5 * * * *").unwrap();
            s
        };
        let now = T0 + 10 * MIN + 90_000;
        let skip = plan(&every_five(Missed::Skip), T0, now, MISSED_GRACE_MS).unwrap();
        assert_eq!(skip.fires, Vec::<u64>::new());
        assert_eq!(skip.handled_up_to, T0 + 10 * MIN);
        let one = plan(&every_five(Missed::CatchUp(1)), T0, now, MISSED_GRACE_MS).unwrap();
        assert_eq!(one.fires, [T0 + 10 * MIN]);
        let both = plan(&every_five(Missed::CatchUp(5)), T0, now, MISSED_GRACE_MS).unwrap();
        assert_eq!(both.fires, [T0 + 5 * MIN, T0 + 10 * MIN]);
    }

    #[test]
    fn a_year_of_downtime_of_a_per_second_schedule_is_cheap() {
        let mut s = every_minute(Missed::CatchUp(1000));
        s.schedule = cron::Schedule::from_str("* * * * * *").unwrap();
        let now = T0 + 365 * 24 * 60 * MIN;
        let p = plan(&s, T0, now, MISSED_GRACE_MS).unwrap();
        // 1000 missed, then the 61 on time (grace inclusive).
        assert_eq!(p.fires.len(), 1061);
        assert_eq!(p.fires.last(), Some(&now));
        assert!(p.fires.windows(2).all(|w| w[1] - w[0] == 1000));
    }
}
