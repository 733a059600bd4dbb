//! Scripted answers: a file with one JSON object per line, the reply to one
//! request each, in order. Blank lines and lines starting with `#` are
//! skipped.
//!
//! ```text
//! # the first request is rate limited, the second answered after 2 s
//! {"status": 429, "retry_after": 2}
//! {"text": "Refund approved.", "input_tokens": 12, "output_tokens": 3, "delay_ms": 2000}
//! {"tool": "lookup_order", "input": {"id": 7}}
//! {"status": 500}
//! {"status": 401, "message": "invalid x-api-key"}
//! {"malformed": true}
//! {"echo": true}
//! ```
//!
//! One of these keys says what a line answers:
//!
//! | key | answer |
//! | --- | --- |
//! | `text` | 200 with that text; `input_tokens` (default 10) and `output_tokens` (default: its words) are the usage reported |
//! | `tool` | 200 calling that tool with `input` (default `{}`) |
//! | `status` | `429` with `retry-after: <retry_after>` seconds (default 1); `500`; a 4xx with `message` |
//! | `malformed` | 200 whose body is not JSON |
//! | `echo` | the ordinary answer, `fake answer: <the last user message>` |
//!
//! and `delay_ms` on any line waits that long before answering.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::server::Reply;

const ANSWER_KEYS: &[&str] = &["text", "tool", "status", "malformed", "echo"];
const OTHER_KEYS: &[&str] = &[
    "input_tokens",
    "output_tokens",
    "input",
    "retry_after",
    "message",
    "delay_ms",
];

/// Reads a script file; an error names the file and line.
pub fn load(path: &Path) -> Result<Vec<Reply>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// Parses the text of a script; `file` names it in errors (`file:line: …`).
pub fn parse(file: &str, text: &str) -> Result<Vec<Reply>, String> {
    let mut replies = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let reply = parse_line(line).map_err(|why| format!("{file}:{}: {why}", i + 1))?;
        replies.push(reply);
    }
    Ok(replies)
}

fn parse_line(line: &str) -> Result<Reply, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("expected a JSON object, e.g. {\"text\": \"hello\"}".into());
    };
    if let Some(unknown) = obj
        .keys()
        .find(|k| !ANSWER_KEYS.contains(&k.as_str()) && !OTHER_KEYS.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown key `{unknown}`; expected {} (and {})",
            ANSWER_KEYS.join(", "),
            OTHER_KEYS.join(", ")
        ));
    }
    let answers: Vec<&str> = ANSWER_KEYS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    let reply = match answers.as_slice() {
        ["text"] => text(&obj)?,
        ["tool"] => Reply::ToolCall {
            name: string(&obj, "tool")?,
            input: obj
                .get("input")
                .cloned()
                .unwrap_or(Value::Object(Map::new())),
        },
        ["status"] => status(&obj)?,
        ["malformed"] => Reply::Malformed,
        ["echo"] => Reply::Echo,
        [] => {
            return Err(format!(
                "a line needs one of {} to say what it answers",
                ANSWER_KEYS.join(", ")
            ));
        }
        several => {
            return Err(format!(
                "one answer per line, got {}",
                several.join(" and ")
            ));
        }
    };
    match obj.get("delay_ms") {
        None => Ok(reply),
        Some(v) => {
            let ms = v
                .as_u64()
                .ok_or_else(|| format!("`delay_ms` must be a whole number of ms, got {v}"))?;
            Ok(Reply::Slow {
                delay: Duration::from_millis(ms),
                then: Box::new(reply),
            })
        }
    }
}

fn text(obj: &Map<String, Value>) -> Result<Reply, String> {
    let text = string(obj, "text")?;
    let words = text.split_whitespace().count() as u64;
    Ok(Reply::Text {
        input_tokens: number(obj, "input_tokens")?.unwrap_or(10),
        output_tokens: number(obj, "output_tokens")?.unwrap_or(words.max(1)),
        text,
    })
}

fn status(obj: &Map<String, Value>) -> Result<Reply, String> {
    let status = number(obj, "status")?.unwrap_or_default();
    match status {
        429 => Ok(Reply::RateLimited {
            retry_after_secs: number(obj, "retry_after")?.unwrap_or(1),
        }),
        500 => Ok(Reply::ServerError),
        400..=499 => Ok(Reply::ClientError {
            status: u16::try_from(status).unwrap_or(400),
            message: match obj.get("message") {
                Some(_) => string(obj, "message")?,
                None => format!("scripted error {status}"),
            },
        }),
        other => Err(format!(
            "`status` {other}: expected 429, 500 or another 4xx"
        )),
    }
}

fn string(obj: &Map<String, Value>, key: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("`{key}` must be a string, got {other}")),
        None => Err(format!("`{key}` is missing")),
    }
}

fn number(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a whole number, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_replies() {
        let script = "# a comment\n\n{\"status\": 429, \"retry_after\": 2}\n\
                      {\"text\": \"hi there\", \"delay_ms\": 5}\n{\"echo\": true}\n";
        let replies = parse("s.jsonl", script).unwrap_or_default();
        assert_eq!(
            replies,
            vec![
                Reply::RateLimited {
                    retry_after_secs: 2
                },
                Reply::Slow {
                    delay: Duration::from_millis(5),
                    then: Box::new(Reply::text("hi there", 10, 2)),
                },
                Reply::Echo,
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("s.jsonl", "{\"text\": \"ok\"}\n{\"txet\": \"typo\"}\n").unwrap_err();
        assert!(err.starts_with("s.jsonl:2: unknown key `txet`"), "{err}");
        let err = parse("s.jsonl", "\n{\"status\": 302}").unwrap_err();
        assert!(err.starts_with("s.jsonl:2: `status` 302"), "{err}");
        let err = parse("s.jsonl", "{\"text\": \"a\", \"echo\": true}").unwrap_err();
        assert!(err.contains("one answer per line"), "{err}");
        let err = parse("s.jsonl", "nope").unwrap_err();
        assert!(err.starts_with("s.jsonl:1: not JSON"), "{err}");
    }
}
