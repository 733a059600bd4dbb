//! Run ids: `<prefix>-<yyyy-mm-dd>-<seq>-<3 chars>`, e.g. `acme-2026-11-22-004-x7m`.
//!
//! `seq` counts runs per prefix per UTC day (at least three digits); the last three
//! characters are random lowercase letters and digits, so that ids are not
//! guessable from each other.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use crate::error::StoreError;

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Checks a run id prefix: 1–32 lowercase ASCII letters, digits or `-`, not
/// starting or ending with `-`.
pub fn check_prefix(prefix: &str) -> Result<(), StoreError> {
    let ok_chars = prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if prefix.is_empty() || prefix.len() > 32 || !ok_chars {
        return Err(StoreError::Invalid(format!(
            "run id prefix {prefix:?} must be 1-32 characters of a-z, 0-9 and '-'"
        )));
    }
    if prefix.starts_with('-') || prefix.ends_with('-') {
        return Err(StoreError::Invalid(format!(
            "run id prefix {prefix:?} must not start or end with '-'"
        )));
    }
    Ok(())
}

/// The UTC date of `ms` (since the Unix epoch) as `yyyy-mm-dd`.
pub fn utc_date(ms: u64) -> String {
    let days = i64::try_from(ms / 86_400_000).unwrap_or(i64::MAX / 2);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `ms` (since the Unix epoch) as `yyyy-mm-dd hh:mm:ss UTC`.
pub fn utc_datetime(ms: u64) -> String {
    let secs = (ms / 1000) % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        utc_date(ms),
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Three random characters of `[a-z0-9]`, seeded from the process's random
/// hasher keys and `salt`.
pub fn random_suffix(salt: u64) -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(salt);
    let mut bits = h.finish();
    let mut out = String::with_capacity(3);
    for _ in 0..3 {
        let i = usize::try_from(bits % 36).unwrap_or(0);
        out.push(char::from(ALPHABET[i]));
        bits /= 36;
    }
    out
}

/// The prefix of run id `id` (`acme` of `acme-2026-11-22-004-x7m`; prefixes
/// may hold `-`), or `None` when `id` is not shaped like a run id.
pub fn prefix_of(id: &str) -> Option<&str> {
    let mut parts = id.rsplitn(6, '-');
    let suffix = parts.next()?;
    let seq = parts.next()?;
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    let prefix = parts.next()?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let shaped = suffix.len() == 3
        && seq.len() >= 3
        && seq.bytes().all(|b| b.is_ascii_digit())
        && digits(year, 4)
        && digits(month, 2)
        && digits(day, 2);
    (shaped && !prefix.is_empty()).then_some(prefix)
}

/// Formats a run id.
pub fn format_id(prefix: &str, date: &str, seq: u64, suffix: &str) -> String {
    format!("{prefix}-{date}-{seq:03}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_ms() {
        assert_eq!(utc_date(0), "1970-01-01");
        // 2026-11-22T23:59:59.999Z
        assert_eq!(utc_date(1_795_391_999_999), "2026-11-22");
        assert_eq!(utc_date(1_795_392_000_000), "2026-11-23");
        // 2000-02-29 (leap day of a /400 year)
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
        assert_eq!(utc_date(4_107_542_400_000), "2100-03-01");
        assert_eq!(utc_datetime(1_795_391_999_999), "2026-11-22 23:59:59 UTC");
        assert_eq!(
            utc_datetime(1_795_305_600_000 + 50_587_000),
            "2026-11-22 14:03:07 UTC"
        );
    }

    #[test]
    fn ids_have_the_documented_shape() {
        let id = format_id("acme", "2026-11-22", 4, &random_suffix(1));
        assert!(id.starts_with("acme-2026-11-22-004-"));
        assert_eq!(id.len(), "acme-2026-11-22-004-x7m".len());
        assert_eq!(
            format_id("a", "2026-11-22", 1234, "abc"),
            "a-2026-11-22-1234-abc"
        );
    }

    #[test]
    fn prefixes_are_read_back_from_ids() {
        assert_eq!(prefix_of("acme-2026-11-22-004-x7m"), Some("acme"));
        assert_eq!(prefix_of("team-7-2026-11-22-1234-abc"), Some("team-7"));
        assert_eq!(prefix_of("2026-11-22-004-x7m"), None);
        assert_eq!(prefix_of("acme-22-11-2026-004-x7m"), None);
        assert_eq!(prefix_of("not-a-run"), None);
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("acme").is_ok());
        assert!(check_prefix("team-7").is_ok());
        for bad in ["", "Acme", "a b", "-a", "a-", "a/b"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
