//! The fire times of a cron line read in a time zone, as instants.
//!
//! **Definition.** A schedule fires at every instant whose wall-clock time in its
//! time zone matches the cron line. Across a DST change that means:
//!
//! - **spring forward** (a wall-clock hour is skipped, e.g. 02:00–02:59 on
//!   2026-03-29 in `Europe/Paris`): a time in the gap does not exist, so it does
//!   not fire that day (`0 30 2 * * *` has no fire on 2026-03-29);
//! - **fall back** (a wall-clock hour happens twice, e.g. 02:00–02:59 on
//!   2026-10-25 in `Europe/Paris`): a time in it happens twice, so it fires
//!   twice, once per instant (`0 30 2 * * *` fires at 00:30 and 01:30 UTC).
//!
//! That is what the `cron` crate's iterator yields when it walks across the day,
//! but a fresh `Schedule::after(t)` does not: it starts from the wall-clock time
//! of `t`, so after the first of two equal wall-clock times it never yields the
//! second one, and from inside the repeated hour it can yield an instant before
//! `t`. Here the line is therefore evaluated in the zone's *fixed* UTC offset of
//! each stretch between two offset changes, where wall-clock times and instants
//! map one to one, and the stretches are walked in order.

use chrono::{DateTime, FixedOffset, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// How far apart the zone's offset is sampled when looking for its next change.
/// Offsets change months apart in the tz database; two changes within six hours
/// would be missed.
const SAMPLE: TimeDelta = TimeDelta::hours(6);

/// The most offset changes crossed while looking for one fire (a cron line can
/// name a date years away; the `cron` crate stops at the year 2100).
const MAX_STRETCHES: usize = 1000;

/// The `cron` crate's years: 1970 to 2100. Outside them it has no fires, and
/// near the ends of `DateTime`'s range its arithmetic overflows (a panic), so
/// instants are kept inside before it sees them.
const FIRST_YEAR: i32 = 1970;
const PAST_LAST_YEAR: i32 = 2101;

/// The first instant strictly after `after` at which `schedule`, read in `tz`,
/// fires; `None` if it never fires again.
pub(crate) fn next_after(
    schedule: &cron::Schedule,
    tz: Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let first = Utc.with_ymd_and_hms(FIRST_YEAR, 1, 1, 0, 0, 0).single()?;
    let past_last = Utc
        .with_ymd_and_hms(PAST_LAST_YEAR, 1, 1, 0, 0, 0)
        .single()?;
    if after >= past_last {
        return None;
    }
    // No fire is before 1970: the first after any earlier instant is the
    // first after the start of 1970 (less a millisecond, to keep it).
    let after = after.max(first - TimeDelta::milliseconds(1));
    // Fires are looked for strictly after `bound`, with the offset in force at
    // `from` (the start of the current stretch; `bound` is just before it).
    let mut bound = after;
    let mut from = after;
    for _ in 0..MAX_STRETCHES {
        let offset = offset_at(tz, from);
        let candidate = schedule
            .after(&bound.with_timezone(&offset))
            .next()?
            .with_timezone(&Utc);
        match next_change(tz, from, candidate, offset) {
            None => return Some(candidate),
            Some(change) => {
                bound = change - TimeDelta::milliseconds(1);
                from = change;
            }
        }
    }
    None
}

/// The UTC offset of `tz` at instant `at`.
fn offset_at(tz: Tz, at: DateTime<Utc>) -> FixedOffset {
    tz.offset_from_utc_datetime(&at.naive_utc()).fix()
}

/// The first instant in `(from, until]` at which the offset of `tz` is no longer
/// `offset`, to the millisecond; `None` if it stays `offset` up to `until`.
fn next_change(
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    offset: FixedOffset,
) -> Option<DateTime<Utc>> {
    let mut same = from;
    while same < until {
        let probe = (same + SAMPLE).min(until);
        if offset_at(tz, probe) != offset {
            return Some(first_change(tz, same, probe, offset));
        }
        same = probe;
    }
    None
}

/// Bisects `(same, changed]`: the offset is `offset` at `same` and not at `changed`.
fn first_change(
    tz: Tz,
    mut same: DateTime<Utc>,
    mut changed: DateTime<Utc>,
    offset: FixedOffset,
) -> DateTime<Utc> {
    let one = TimeDelta::milliseconds(1);
    while changed - same > one {
        let mid = same + (changed - same) / 2;
        if offset_at(tz, mid) == offset {
            same = mid;
        } else {
            changed = mid;
        }
    }
    changed
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

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Every fire in `(after, until]`.
    fn fires(line: &str, tz: &str, after: &str, until: &str) -> Vec<String> {
        let schedule = cron::Schedule::from_str(line).unwrap();
        let tz: Tz = tz.parse().unwrap();
        let (mut t, until) = (at(after), at(until));
        let mut out = Vec::new();
        while let Some(next) = next_after(&schedule, tz, t) {
            if next > until {
                break;
            }
            assert!(next > t, "{next} is not after {t}");
            out.push(next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            t = next;
        }
        out
    }

    #[test]
    fn a_time_in_the_spring_gap_does_not_fire_that_day() {
        let got = fires(
            "0 30 2 * * *",
            "Europe/Paris",
            "2026-03-27T12:00:00Z",
            "2026-03-31T12:00:00Z",
        );
        assert_eq!(
            got,
            [
                "2026-03-28T01:30:00Z",
                "2026-03-30T00:30:00Z",
                "2026-03-31T00:30:00Z"
            ]
        );
    }

    #[test]
    fn a_time_in_the_repeated_hour_fires_twice() {
        let got = fires(
            "0 30 2 * * *",
            "Europe/Paris",
            "2026-10-23T12:00:00Z",
            "2026-10-26T12:00:00Z",
        );
        assert_eq!(
            got,
            [
                "2026-10-24T00:30:00Z",
                "2026-10-25T00:30:00Z",
                "2026-10-25T01:30:00Z",
                "2026-10-26T01:30:00Z"
            ]
        );
    }

    #[test]
    fn the_second_occurrence_is_found_from_anywhere_before_it() {
        let schedule = cron::Schedule::from_str("0 30 2 * * *").unwrap();
        let tz = Tz::Europe__Paris;
        let second = at("2026-10-25T01:30:00Z");
        // Right after the first 02:30, inside the first and the second 02:xx hour.
        for after in [
            "2026-10-25T00:30:00Z",
            "2026-10-25T00:45:00.250Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T01:29:59.999Z",
        ] {
            assert_eq!(
                next_after(&schedule, tz, at(after)),
                Some(second),
                "{after}"
            );
        }
        assert_eq!(
            next_after(&schedule, tz, second),
            Some(at("2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn every_minute_fires_once_per_real_minute_across_both_changes() {
        for (after, until, minutes) in [
            ("2026-03-28T22:00:00Z", "2026-03-29T04:00:00Z", 360),
            ("2026-10-24T22:00:00Z", "2026-10-25T04:00:00Z", 360),
        ] {
            let got = fires("0 * * * * *", "Europe/Paris", after, until);
            assert_eq!(got.len(), minutes, "{after}");
            let instants: Vec<_> = got.iter().map(|t| at(t)).collect();
            assert!(
                instants
                    .windows(2)
                    .all(|w| w[1] - w[0] == TimeDelta::minutes(1)),
                "{got:?}"
            );
        }
    }

    #[test]
    fn a_half_hour_shift_is_handled_too() {
        // Lord Howe Island moves its clocks by 30 minutes: 02:00 → 02:30 on
        // 2026-10-04 (a 02:15 does not exist), 02:00 → 01:30 on 2026-04-05 (01:45
        // happens twice).
        let spring = fires(
            "0 15 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-02T12:00:00Z",
            "2026-10-05T12:00:00Z",
        );
        assert_eq!(spring.len(), 2, "{spring:?}");
        let fall = fires(
            "0 45 1 * * *",
            "Australia/Lord_Howe",
            "2026-04-03T12:00:00Z",
            "2026-04-06T12:00:00Z",
        );
        assert_eq!(fall.len(), 4, "{fall:?}");
    }

    #[test]
    fn utc_and_sub_second_bounds() {
        let got = fires(
            "*/20 * * * * *",
            "UTC",
            "2026-01-01T00:00:00.500Z",
            "2026-01-01T00:01:00Z",
        );
        assert_eq!(
            got,
            [
                "2026-01-01T00:00:20Z",
                "2026-01-01T00:00:40Z",
                "2026-01-01T00:01:00Z"
            ]
        );
    }

    #[test]
    fn the_ends_of_time_do_not_panic() {
        // The cron crate's arithmetic overflows near DateTime's limits (found
        // by the fuzz target `flow-line-edits`).
        let every_minute = cron::Schedule::from_str("0 * * * * *").unwrap();
        assert_eq!(
            next_after(&every_minute, Tz::UTC, DateTime::<Utc>::MAX_UTC),
            None
        );
        assert_eq!(
            next_after(&every_minute, Tz::Europe__Paris, DateTime::<Utc>::MIN_UTC),
            Some(at("1970-01-01T00:00:00Z"))
        );
        assert_eq!(
            next_after(&every_minute, Tz::UTC, at("2101-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn a_line_with_no_more_fires_ends() {
        let schedule = cron::Schedule::from_str("0 0 0 1 1 * 2020").unwrap();
        assert_eq!(
            next_after(&schedule, Tz::UTC, at("2026-01-01T00:00:00Z")),
            None
        );
    }
}
