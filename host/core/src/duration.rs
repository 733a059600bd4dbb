//! weft's one duration grammar, read by flow files, `weft.yaml`, every CLI
//! flag that takes a duration and the ages of search's time bounds
//! (`--since 1h30m`): `250ms`, `1.5s`, `1m30s`, `2h15m`, `7d`.
//!
//! A duration is one or more parts `<number><unit>`:
//! - the units are `d` (24 h), `h`, `m`, `s` and `ms`, written largest first,
//!   each at most once (`1h30m`, not `30m1h` or `1m1m`);
//! - a number is digits with an optional decimal fraction (`1.5s`, `0.25h`); it
//!   has no sign, so a duration is never negative;
//! - spaces around the parts are allowed (`1m 30s`, `5 s`); a bare number
//!   (`30`) is not a duration: the unit is always written;
//! - the result is rounded to the nearest whole millisecond, halves up
//!   (`1.0005s` is 1001 ms, `0.4ms` is 0); a result beyond `u64::MAX` ms is
//!   rejected.
//!
//! Zero (`0s`) is a duration here; flow files and `weft.yaml` reject it where a
//! step or a lease needs some time.

use std::fmt;
use std::time::Duration;

/// What a duration looks like, as error messages say it.
pub const EXPECTED: &str = "a number with a unit (ms, s, m, h, d), e.g. 250ms, 1.5s, 1m30s, 7d";

/// The units, largest first, and their length in nanoseconds.
const UNITS: [(&str, u128); 5] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
];

/// Fraction digits read; further ones change the result by less than 1 ns.
const MAX_FRACTION_DIGITS: usize = 18;

/// A text that is not a duration, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DurationError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: DurationReason,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a duration: {}; expected {EXPECTED}",
            self.text, self.reason
        )
    }
}

/// What is wrong with a text that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationReason {
    /// Nothing (or only spaces) was written.
    #[error("it is empty")]
    Empty,
    /// It starts with `-`.
    #[error("a duration cannot be negative")]
    Negative,
    /// A part does not start with a digit (the rest of the text from there).
    #[error("expected a number at `{0}`")]
    ExpectedNumber(String),
    /// A number ends in `.` with no digits after it.
    #[error("`{0}` needs digits after the `.`")]
    BadFraction(String),
    /// A number is not followed by a unit.
    #[error("`{0}` has no unit")]
    NoUnit(String),
    /// A unit weft does not know.
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    /// A unit written after a smaller one.
    #[error("`{unit}` comes after `{after}`: write the larger units first, e.g. 1m30s")]
    OutOfOrder {
        /// The unit written too late.
        unit: &'static str,
        /// The smaller unit before it.
        after: &'static str,
    },
    /// A unit written twice.
    #[error("`{0}` is written twice")]
    Repeated(&'static str),
    /// More than `u64::MAX` milliseconds.
    #[error("it is too large")]
    TooLarge,
}

/// Parse a duration in weft's grammar (see the module documentation).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    parse_nanos(text).map_err(|reason| DurationError {
        text: text.to_owned(),
        reason,
    })
}

fn parse_nanos(text: &str) -> Result<Duration, DurationReason> {
    let mut rest = text.trim_start();
    if rest.trim_end().is_empty() {
        return Err(DurationReason::Empty);
    }
    if rest.starts_with('-') {
        return Err(DurationReason::Negative);
    }
    let mut total: u128 = 0;
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let (whole, fraction, tail) = number(rest)?;
        let tail = tail.trim_start();
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '.' | '-' | '+'))
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        if unit.is_empty() {
            let written = &rest[..rest.len() - tail.len()];
            return Err(DurationReason::NoUnit(written.trim().to_owned()));
        }
        let index = UNITS
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(|| DurationReason::UnknownUnit(unit.to_owned()))?;
        if let Some(last) = last_unit {
            if last == index {
                return Err(DurationReason::Repeated(UNITS[index].0));
            }
            if index < last {
                return Err(DurationReason::OutOfOrder {
                    unit: UNITS[index].0,
                    after: UNITS[last].0,
                });
            }
        }
        last_unit = Some(index);
        total = total
            .checked_add(part_nanos(whole, fraction, UNITS[index].1)?)
            .ok_or(DurationReason::TooLarge)?;
        rest = tail.trim_start();
    }
    let millis = total.saturating_add(500_000) / 1_000_000;
    u64::try_from(millis)
        .map(Duration::from_millis)
        .map_err(|_| DurationReason::TooLarge)
}

/// The digits before and after the `.` of the number `text` starts with, and
/// what follows it.
fn number(text: &str) -> Result<(&str, &str, &str), DurationReason> {
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let end = digits(text);
    if end == 0 {
        return Err(DurationReason::ExpectedNumber(text.to_owned()));
    }
    let (whole, tail) = text.split_at(end);
    let Some(after_dot) = tail.strip_prefix('.') else {
        return Ok((whole, "", tail));
    };
    let end = digits(after_dot);
    if end == 0 {
        return Err(DurationReason::BadFraction(format!("{whole}.")));
    }
    let (fraction, tail) = after_dot.split_at(end);
    Ok((whole, fraction, tail))
}

/// `whole.fraction` units of `unit_nanos` each, in nanoseconds (the fraction
/// rounded down to a nanosecond).
fn part_nanos(whole: &str, fraction: &str, unit_nanos: u128) -> Result<u128, DurationReason> {
    let whole: u128 = whole.parse().map_err(|_| DurationReason::TooLarge)?;
    let mut nanos = whole
        .checked_mul(unit_nanos)
        .ok_or(DurationReason::TooLarge)?;
    let fraction = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS)];
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().map_err(|_| DurationReason::TooLarge)?;
        let scale = 10u128.pow(u32::try_from(fraction.len()).unwrap_or(0));
        // At most (10^18 - 1) * 8.64 * 10^13 < 10^32: no overflow in u128.
        nanos = nanos
            .checked_add(digits * unit_nanos / scale)
            .ok_or(DurationReason::TooLarge)?;
    }
    Ok(nanos)
}

/// Write a duration in the grammar, e.g. `1m30s`, `250ms`, `7d`: whole seconds
/// as `d`/`h`/`m`/`s` parts, anything else in (whole) milliseconds.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut s = ms / 1000;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]
    use super::*;

    fn ms(n: u64) -> Result<Duration, DurationReason> {
        Ok(Duration::from_millis(n))
    }

    #[test]
    fn accepted_inputs() {
        let table = [
            ("250ms", ms(250)),
            ("30s", ms(30_000)),
            ("1.5s", ms(1_500)),
            ("0.25h", ms(900_000)),
            ("2m", ms(120_000)),
            ("1m30s", ms(90_000)),
            ("2h15m", ms(8_100_000)),
            ("7d", ms(604_800_000)),
            ("1.5d", ms(129_600_000)),
            ("1d2h3m4s5ms", ms(93_784_005)),
            ("1m 30s", ms(90_000)),
            ("5 s", ms(5_000)),
            ("  45s  ", ms(45_000)),
            ("0s", ms(0)),
            ("1.0005s", ms(1_001)),
            ("1.0004s", ms(1_000)),
            ("0.4ms", ms(0)),
            ("0.000000000000000000001s", ms(0)),
            ("18446744073709551615ms", ms(u64::MAX)),
        ];
        for (text, want) in table {
            assert_eq!(parse_nanos(text), want, "{text}");
        }
    }

    #[test]
    fn rejected_inputs() {
        use DurationReason::*;
        let table = [
            ("", Empty),
            ("   ", Empty),
            ("30", NoUnit("30".into())),
            ("1m30", NoUnit("30".into())),
            ("5 5s", NoUnit("5".into())),
            ("-5s", Negative),
            ("1m-5s", ExpectedNumber("-5s".into())),
            ("+5s", ExpectedNumber("+5s".into())),
            ("fast", ExpectedNumber("fast".into())),
            (".5s", ExpectedNumber(".5s".into())),
            ("1.s", BadFraction("1.".into())),
            ("5 parsecs", UnknownUnit("parsecs".into())),
            ("1x", UnknownUnit("x".into())),
            ("2w", UnknownUnit("w".into())),
            ("5µs", UnknownUnit("µs".into())),
            ("5S", UnknownUnit("S".into())),
            (
                "30s1m",
                OutOfOrder {
                    unit: "m",
                    after: "s",
                },
            ),
            (
                "5ms1s",
                OutOfOrder {
                    unit: "s",
                    after: "ms",
                },
            ),
            ("1m1m", Repeated("m")),
            ("1s2s", Repeated("s")),
            ("18446744073709551616ms", TooLarge),
            ("99999999999999999999999999999999999999999d", TooLarge),
            ("213503982334602d", TooLarge),
        ];
        for (text, want) in table {
            assert_eq!(parse_nanos(text), Err(want), "{text}");
        }
    }

    #[test]
    fn the_error_names_the_text_and_what_was_expected() {
        let e = parse_duration("1x").unwrap_err().to_string();
        assert_eq!(
            e,
            "`1x` is not a duration: unknown unit `x`; expected a number with a unit \
             (ms, s, m, h, d), e.g. 250ms, 1.5s, 1m30s, 7d"
        );
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1500ms");
        assert_eq!(
            format_duration(Duration::from_secs(8 * 86_400 + 60)),
            "8d1m"
        );
        assert_eq!(format_duration(Duration::ZERO), "0s");
        for d in [90_000, 1_500, 604_800_000, 93_784_005, u64::MAX] {
            let d = Duration::from_millis(d);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
