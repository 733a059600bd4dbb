//! Time bounds as people write them: an age in weft's one duration grammar
//! (`7d`, `12h`, `1h30m`, `1.5h`: [`weft_core::duration`]) or in weeks (`2w`),
//! a date `2026-11-22` (00:00 UTC), an RFC 3339 time, or ms since the epoch.

use weft_core::duration::parse_duration;

use crate::error::IndexError;

/// A week, the one unit an age has that durations do not.
const WEEK_MS: u64 = 604_800_000;

/// `text` as ms since the Unix epoch, relative ages counted back from `now_ms`.
pub fn parse_time(text: &str, now_ms: u64) -> Result<u64, IndexError> {
    let bad = |why: &str| IndexError::BadTime {
        value: text.to_owned(),
        why: why.to_owned(),
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("it is empty"));
    }
    if let Some(weeks) = t.strip_suffix('w')
        && !weeks.is_empty()
        && weeks.chars().all(|c| c.is_ascii_digit())
    {
        let n: u64 = weeks.parse().map_err(|_| bad("the number is too large"))?;
        return Ok(now_ms.saturating_sub(n.saturating_mul(WEEK_MS)));
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse().map_err(|_| bad("the number is too large"));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let ms = d
            .and_hms_opt(0, 0, 0)
            .map(|dt| dt.and_utc().timestamp_millis())
            .unwrap_or(0);
        return u64::try_from(ms).map_err(|_| bad("it is before 1970"));
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return u64::try_from(dt.timestamp_millis()).map_err(|_| bad("it is before 1970"));
    }
    // Not a date or a time, and starts like a number: an age.
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        let age = parse_duration(t).map_err(|e| {
            bad(&format!(
                "{}; an age is a duration (e.g. `7d`, `12h`, `1h30m`) or weeks (`2w`)",
                e.reason
            ))
        })?;
        let ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        return Ok(now_ms.saturating_sub(ms));
    }
    Err(bad(
        "expected an age (`7d`, `12h`, `1h30m`), a date (`2026-11-22`), \
         an RFC 3339 time (`2026-11-22T08:00:00Z`) or ms since the epoch",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "a test should fail loudly"
    )]
    use super::*;

    #[test]
    fn ages_dates_and_times_parse_and_nonsense_says_what_is_expected() {
        let now = 10 * 86_400_000;
        assert_eq!(parse_time("7d", now).unwrap(), 3 * 86_400_000);
        assert_eq!(parse_time("90m", now).unwrap(), now - 90 * 60_000);
        // The same grammar as every other duration of weft's.
        assert_eq!(parse_time("1h30m", now).unwrap(), now - 90 * 60_000);
        assert_eq!(parse_time("1.5h", now).unwrap(), now - 90 * 60_000);
        assert_eq!(parse_time("1w", now).unwrap(), 3 * 86_400_000);
        assert_eq!(parse_time("1970-01-02", now).unwrap(), 86_400_000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z", now).unwrap(), 1000);
        assert_eq!(parse_time("1234", now).unwrap(), 1234);
        let e = parse_time("7y", now).unwrap_err().to_string();
        assert!(e.contains("an age is a duration"), "{e}");
        let e = parse_time("yesterday", now).unwrap_err().to_string();
        assert!(e.contains("expected an age"), "{e}");
    }
}
