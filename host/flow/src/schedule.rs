//! `schedule:` entries: cron lines with seconds, a time zone, an input, and what to
//! do about fires missed while weft was down. Parsed and checked here; fired by the
//! engine.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value as Json;

use crate::decode::Ctx;
use crate::diagnostic::{Location, did_you_mean};
use crate::fire_times;
use crate::yaml::{Node, Pos, Value, location};

const KEYS: &[&str] = &["cron", "timezone", "input", "missed"];

/// What to do with fires that fell while weft was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// Drop them; fire next at the next time the cron line names.
    Skip,
    /// Fire the most recent `n` of them (oldest first), then go on.
    CatchUp(u32),
}

impl Default for Missed {
    /// `catch-up: 1`: after downtime, run once for the fires that were missed.
    fn default() -> Self {
        Self::CatchUp(1)
    }
}

/// One validated `schedule:` entry.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The cron line as written, e.g. `0 */5 * * * *`.
    pub cron: String,
    /// The parsed cron line.
    pub schedule: cron::Schedule,
    /// The time zone the cron line is read in (default UTC).
    pub timezone: Tz,
    /// The run input of each fire (checked against the flow's inputs).
    pub input: Json,
    /// What to do about missed fires.
    pub missed: Missed,
    /// Where the entry is.
    pub location: Location,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.cron,
            self.timezone,
            &self.input,
            self.missed,
            &self.location,
        ) == (
            &other.cron,
            other.timezone,
            &other.input,
            other.missed,
            &other.location,
        )
    }
}

impl Schedule {
    /// The first fire strictly after `after`: the first later instant whose
    /// wall-clock time in [`Schedule::timezone`] matches the cron line. A time
    /// that a DST change skips does not fire that day; a time that it repeats
    /// fires twice (see `fire_times`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        fire_times::next_after(&self.schedule, self.timezone, after)
    }
}

/// Decode one entry; the input is checked by the caller against the flow inputs.
/// Returns the schedule, where its `input:` is (or the entry, without one) and
/// the `input:` node.
pub(crate) fn decode<'n>(
    ctx: &mut Ctx<'_>,
    node: &'n Node,
    path: &str,
) -> Option<(Schedule, Pos, Option<&'n Node>)> {
    let fields = ctx.map(node, path, KEYS, node.pos)?;
    let cron_node = ctx.required(
        &fields,
        "cron",
        "a cron line with seconds, e.g. `0 */5 * * * *`",
    );
    let parsed = cron_node.and_then(|n| parse_cron(ctx, n, &fields.child("cron")));
    let timezone = match fields.get("timezone") {
        Some(n) => parse_tz(ctx, n, &fields.child("timezone")),
        None => Some(Tz::UTC),
    };
    let input_entry = fields.entry("input");
    let input_at = input_entry.map_or(node.pos, |(k, _)| k.pos);
    let input_node = input_entry.map(|(_, n)| n);
    let input = match input_node {
        Some(n) => ctx.object(n, &fields.child("input")),
        None => Some(Json::Object(serde_json::Map::new())),
    };
    let missed = match fields.get("missed") {
        Some(n) => parse_missed(ctx, n, &fields.child("missed")),
        None => Some(Missed::default()),
    };
    let (cron, schedule) = parsed?;
    Some((
        Schedule {
            cron,
            schedule,
            timezone: timezone?,
            input: input?,
            missed: missed?,
            location: location(ctx.file, node.pos),
        },
        input_at,
        input_node,
    ))
}

fn parse_cron(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<(String, cron::Schedule)> {
    let text = ctx.string(node, path)?.value;
    let fields = text.split_whitespace().count();
    let expected = "expected 6 or 7 fields: sec min hour day-of-month month day-of-week [year]";
    let shorthand = text.trim_start().starts_with('@');
    if !shorthand && fields == 5 {
        let d = ctx
            .at(
                node.pos,
                format!("cron line `{text}` has 5 fields, but weft cron lines start with seconds"),
            )
            .expected(expected)
            .help(format!("to fire at second 0, write `0 {}`", text.trim()));
        ctx.push(d);
        return None;
    }
    if !shorthand && !(6..=7).contains(&fields) {
        let d = ctx
            .at(node.pos, format!("cron line `{text}` has {fields} fields"))
            .expected(expected)
            .help("e.g. `0 */5 * * * *` fires every five minutes, `0 0 9 * * Mon-Fri` at 09:00 on weekdays");
        ctx.push(d);
        return None;
    }
    match cron::Schedule::from_str(&text) {
        Ok(s) => Some((text, s)),
        Err(e) => {
            let d = ctx
                .at(node.pos, format!("invalid cron line `{text}`: {}", cron_reason(&e.to_string(), &text)))
                .expected(expected)
                .help("e.g. `0 */5 * * * *` fires every five minutes, `0 0 9 * * Mon-Fri` at 09:00 on weekdays");
            ctx.push(d);
            None
        }
    }
}

/// The cron crate's message without its echo of the line and its caret.
fn cron_reason(message: &str, text: &str) -> String {
    let reason: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != text.trim() && !l.chars().all(|c| c == '^'))
        .collect();
    if reason.is_empty() {
        "a field is not a valid value, range, list or step".to_owned()
    } else {
        reason.join(" ").trim_end_matches('.').to_owned()
    }
}

fn parse_tz(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Tz> {
    let text = ctx.string(node, path)?.value;
    match text.parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
            let d = ctx
                .at(node.pos, format!("unknown time zone `{text}`"))
                .expected("expected an IANA time zone name such as `UTC` or `Europe/Paris`")
                .maybe_help(did_you_mean(&text, names));
            ctx.push(d);
            None
        }
    }
}

fn parse_missed(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Missed> {
    const EXPECTED: &str = "expected `skip` or `catch-up: N` (N from 1 to 1000)";
    match &node.value {
        Value::Str(s) if s == "skip" => Some(Missed::Skip),
        Value::Map(_) => {
            let fields = ctx.map(node, path, &["catch-up"], node.pos)?;
            let n = ctx.required(&fields, "catch-up", "how many missed fires to run")?;
            ctx.integer(n, &fields.child("catch-up"), 1, 1000)
                .and_then(|n| u32::try_from(n).ok())
                .map(Missed::CatchUp)
        }
        Value::Str(s) => {
            let d = ctx
                .at(node.pos, format!("invalid value `{s}` for `{path}`"))
                .expected(EXPECTED)
                .maybe_help(did_you_mean(s, ["skip", "catch-up"]).map(|h| {
                    if h.contains("catch-up") {
                        "write `missed: { catch-up: 3 }` to run up to three missed fires".to_owned()
                    } else {
                        h
                    }
                }));
            ctx.push(d);
            None
        }
        _ => {
            ctx.wrong_type(node, path, EXPECTED);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn next_fire_respects_timezone() {
        let node = crate::yaml::parse("t.yaml", "cron: \"0 0 9 * * *\"\ntimezone: Europe/Paris\n")
            .unwrap();
        let mut ctx = Ctx::new("t.yaml");
        let (s, _, _) = decode(&mut ctx, &node, "schedule[0]").unwrap();
        assert!(ctx.errors.is_empty());
        let after = Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap();
        let next = s.next_after(after).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 1, 11, 8, 0, 0).unwrap());
        assert_eq!(s.missed, Missed::CatchUp(1));
    }
}
