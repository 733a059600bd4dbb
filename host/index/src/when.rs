//! Time bounds as people write them: `7d`, `12h`, `30m`, `2w` ago, a date
//! `2026-11-22` (00:00 UTC), an RFC 3339 time, or ms since the epoch.

use crate::error::IndexError;

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
    if let Some(unit) = t.chars().last().filter(|c| c.is_ascii_alphabetic())
        && t.len() > 1
        && t[..t.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        let n: u64 = t[..t.len() - 1]
            .parse()
            .map_err(|_| bad("the number is too large"))?;
        let unit_ms: u64 = match unit {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 604_800_000,
            _ => return Err(bad("the unit must be s, m, h, d or w (e.g. `7d`)")),
        };
        return Ok(now_ms.saturating_sub(n.saturating_mul(unit_ms)));
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
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(dt) => u64::try_from(dt.timestamp_millis()).map_err(|_| bad("it is before 1970")),
        Err(_) => Err(bad(
            "expected an age (`7d`, `12h`, `30m`), a date (`2026-11-22`), \
             an RFC 3339 time (`2026-11-22T08:00:00Z`) or ms since the epoch",
        )),
    }
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
        assert_eq!(parse_time("1970-01-02", now).unwrap(), 86_400_000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z", now).unwrap(), 1000);
        assert_eq!(parse_time("1234", now).unwrap(), 1234);
        let e = parse_time("7y", now).unwrap_err().to_string();
        assert!(e.contains("unit must be"), "{e}");
        let e = parse_time("yesterday", now).unwrap_err().to_string();
        assert!(e.contains("expected an age"), "{e}");
    }
}
