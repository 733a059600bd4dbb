//! The small grammars inside flow files: cron lines (with a time zone and a
//! `missed:` policy), `${{ }}` templates (parsed, checked at validation,
//! rendered at run time) and durations.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use weft_flow::duration::{format_duration, parse_duration};
use weft_flow::template::{has_template, parse};
use weft_flow::{ProjectConfig, TemplateContext, render};
use weft_fuzz::{Unstructured, odd_json, odd_string};

use crate::flows::compile_and_use;

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "Nowhere/City",
    "",
];

/// A cron line: odd text, or fields built from cron syntax.
fn cron_line(u: &mut Unstructured<'_>) -> String {
    const PARTS: &[&str] = &[
        "*",
        "0",
        "59",
        "60",
        "23",
        "24",
        "31",
        "32",
        "12",
        "13",
        "7",
        "1-5",
        "5-1",
        "*/0",
        "*/1",
        "*/61",
        "0/15",
        "L",
        "W",
        "#",
        "?",
        "MON-FRI",
        "JAN",
        "1,2,3",
        ",",
        "-",
        "/",
        "2099",
        "1970",
        "4294967296",
        "-1",
    ];
    if u.ratio(1u8, 3u8).unwrap_or(false) {
        return odd_string(u);
    }
    let fields = u.int_in_range(0usize..=8).unwrap_or(6);
    (0..fields)
        .map(|_| (*u.choose(PARTS).unwrap_or(&"*")).to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn yaml_quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// One cron case: a flow with one `schedule:` entry built from `bytes`,
/// compiled and asked for its next fires.
pub fn cron_case(bytes: &[u8]) {
    let project = ProjectConfig::empty("weft.yaml");
    {
        let mut u = Unstructured::new(bytes);
        let cron = cron_line(&mut u);
        let zone = if u.ratio(1u8, 4u8).unwrap_or(false) {
            odd_string(&mut u)
        } else {
            (*u.choose(ZONES).unwrap_or(&"UTC")).to_owned()
        };
        let missed = match u.int_in_range(0u8..=4).unwrap_or(0) {
            0 => "skip".to_owned(),
            1 => "catch-up: 0".to_owned(),
            2 => "catch-up: 4294967296".to_owned(),
            3 => format!("catch-up: {}", u.arbitrary::<i64>().unwrap_or(1)),
            _ => yaml_quote(&odd_string(&mut u)),
        };
        let text = format!(
            "id: c\nsteps:\n  a: {{ uses: echo }}\nschedule:\n  - cron: {}\n    timezone: {}\n    missed: {{ {missed} }}\n",
            yaml_quote(&cron),
            yaml_quote(&zone)
        );
        compile_and_use(&text, &project, &mut u);
    }
}

#[test]
fn fuzz_cron_lines() {
    weft_fuzz::run("cron", 150, cron_case);
}

#[test]
fn fuzz_templates() {
    weft_fuzz::run("template", 1000, |bytes| {
        let mut u = Unstructured::new(bytes);
        let text = match u.int_in_range(0u8..=2).unwrap_or(0) {
            0 => odd_string(&mut u),
            1 => format!("${{{{ {} }}}}", odd_string(&mut u)),
            _ => {
                let mut t = String::new();
                for _ in 0..u.int_in_range(1u8..=5).unwrap_or(1) {
                    t.push_str(&odd_string(&mut u));
                    t.push_str(
                        ["${{", "}}", " ", ".", "[", "]"]
                            [usize::from(u.int_in_range(0u8..=5).unwrap_or(0))],
                    );
                }
                t
            }
        };
        let _ = has_template(&text);
        let _ = parse(&text).map_err(|e| assert!(e.offset <= text.len(), "{e:?}"));
        let input = odd_json(&mut u, 3);
        let mut outputs = HashMap::new();
        outputs.insert("a".to_owned(), odd_json(&mut u, 3));
        outputs.insert(odd_string(&mut u), odd_json(&mut u, 2));
        let ctx = TemplateContext {
            input: &input,
            step_outputs: &outputs,
        };
        let with = json!({ "x": text, "list": [text, {"y": text}] });
        let _ = render(&with, &ctx);
        let _ = render(&Value::String(text.clone()), &ctx);
        // And in a flow: validation checks templates against inputs and needs.
        let flow = format!(
            "id: t\ninputs:\n  n: {{ type: integer }}\nsteps:\n  a: {{ uses: echo }}\n  b:\n    uses: echo\n    needs: [a]\n    with: {{ v: {} }}\n",
            yaml_quote(&text)
        );
        compile_and_use(&flow, &ProjectConfig::empty("weft.yaml"), &mut u);
    });
}

#[test]
fn fuzz_durations() {
    weft_fuzz::run("duration", 10000, |bytes| {
        let mut u = Unstructured::new(bytes);
        let text = if u.arbitrary().unwrap_or(false) {
            odd_string(&mut u)
        } else {
            let mut t = String::new();
            for _ in 0..u.int_in_range(1u8..=4).unwrap_or(1) {
                t.push_str(&u.arbitrary::<u64>().unwrap_or(0).to_string());
                t.push_str(
                    ["ms", "s", "m", "h", "", " s", "d", "µs", "."]
                        [usize::from(u.int_in_range(0u8..=8).unwrap_or(0))],
                );
            }
            t
        };
        if let Ok(d) = parse_duration(&text) {
            let shown = format_duration(d);
            // What the flow files can write comes back to the same duration.
            if d <= Duration::from_secs(u64::MAX / 1000) {
                assert_eq!(parse_duration(&shown), Ok(d), "{text} -> {shown}");
            }
        }
        let any = Duration::new(
            u.arbitrary().unwrap_or(0),
            u.int_in_range(0..=999_999_999).unwrap_or(0),
        );
        let _ = parse_duration(&format_duration(any));
    });
}
