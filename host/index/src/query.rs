//! The query language (see `docs/search.md`): `field:value` and
//! `field:"a phrase"` clauses, bare words and `"quoted phrases"` searched in
//! every text field, `-` before a clause to exclude it, `since:`/`until:` time
//! bounds. Every clause must hold (AND).

use std::fmt;

/// A field a clause may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QField {
    /// `flow:` exact flow id.
    Flow,
    /// `status:` exact status (or task state on step outcomes).
    Status,
    /// `tenant:` exact tenant (only narrows: a tenant's search is always its own).
    Tenant,
    /// `step:` exact step id.
    Step,
    /// `run:` exact run id.
    Run,
    /// `error:` words in error texts.
    Error,
    /// `input:` words in the input.
    Input,
    /// `output:` words in the output.
    Output,
    /// `summary:` words in the summary.
    Summary,
}

/// The field names, as written in queries.
pub const FIELD_NAMES: &[&str] = &[
    "flow", "status", "tenant", "step", "run", "error", "input", "output", "summary", "since",
    "until",
];

/// Statuses a `status:` clause may name: run statuses and task states.
const STATUSES: &[&str] = &[
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "ready",
    "delayed",
    "leased",
    "done",
    "dead",
];

/// One clause of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// `field:value`.
    Field(QField, String),
    /// A bare word or quoted phrase, searched in every text field.
    Free(String),
    /// `since:` (the time text, parsed later against the clock).
    Since(String),
    /// `until:`.
    Until(String),
}

/// A clause and whether it is negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The clause.
    pub clause: Clause,
    /// True with a leading `-`.
    pub negated: bool,
    /// The 1-based column where it starts, for errors found later.
    pub column: usize,
}

/// A query that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct QueryError {
    /// The 1-based column (in characters) of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

/// Parses `text` into clauses. An empty query has no clauses (it matches every
/// run the filters allow).
pub fn parse(text: &str) -> Result<Vec<Term>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let column = i + 1;
        let negated = chars[i] == '-' && chars.get(i + 1).is_some_and(|c| !c.is_whitespace());
        if negated {
            i += 1;
        }
        if chars[i] == '"' {
            let (value, next) = quoted(&chars, i)?;
            i = next;
            out.push(Term {
                clause: Clause::Free(value),
                negated,
                column,
            });
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ':' && chars[i] != '"' {
            i += 1;
        }
        let head: String = chars[start..i].iter().collect();
        let url = chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/');
        if chars.get(i) == Some(&':')
            && !url
            && !head.is_empty()
            && head.chars().all(|c| c.is_ascii_alphabetic())
        {
            let name = head.to_ascii_lowercase();
            i += 1;
            let value_col = i + 1;
            let value = if chars.get(i) == Some(&'"') {
                let (v, next) = quoted(&chars, i)?;
                i = next;
                v
            } else {
                let vs = i;
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                chars[vs..i].iter().collect()
            };
            if value.trim().is_empty() {
                return Err(QueryError {
                    column: value_col,
                    message: format!("`{name}:` needs a value, e.g. `{name}:{}`", example(&name)),
                });
            }
            let clause = field_clause(&name, value, start + 1, value_col)?;
            out.push(Term {
                clause,
                negated,
                column,
            });
            continue;
        }
        // A bare word (which may hold ':' or '"' further on, e.g. a URL).
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.push(Term {
            clause: Clause::Free(word),
            negated,
            column,
        });
    }
    Ok(out)
}

/// The text of the quoted string opening at `open`, and the index after it.
fn quoted(chars: &[char], open: usize) -> Result<(String, usize), QueryError> {
    let mut i = open + 1;
    let mut value = String::new();
    while i < chars.len() {
        match chars[i] {
            '"' => {
                if value.trim().is_empty() {
                    return Err(QueryError {
                        column: open + 1,
                        message: "an empty quoted phrase".into(),
                    });
                }
                return Ok((value, i + 1));
            }
            '\\' if chars.get(i + 1) == Some(&'"') => {
                value.push('"');
                i += 2;
            }
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
    Err(QueryError {
        column: open + 1,
        message: "this quote is never closed".into(),
    })
}

fn field_clause(
    name: &str,
    value: String,
    column: usize,
    value_col: usize,
) -> Result<Clause, QueryError> {
    let field = match name {
        "flow" => QField::Flow,
        "status" => {
            if !STATUSES.contains(&value.as_str()) {
                return Err(QueryError {
                    column: value_col,
                    message: format!(
                        "unknown status `{value}`; statuses are {}",
                        STATUSES.join(", ")
                    ),
                });
            }
            QField::Status
        }
        "tenant" => QField::Tenant,
        "step" => QField::Step,
        "run" => QField::Run,
        "error" => QField::Error,
        "input" => QField::Input,
        "output" => QField::Output,
        "summary" => QField::Summary,
        "since" => return Ok(Clause::Since(value)),
        "until" => return Ok(Clause::Until(value)),
        other => {
            return Err(QueryError {
                column,
                message: format!(
                    "unknown field `{other}`; fields are {} (quote text holding `:`)",
                    FIELD_NAMES.join(", ")
                ),
            });
        }
    };
    Ok(Clause::Field(field, value))
}

fn example(name: &str) -> &'static str {
    match name {
        "status" => "failed",
        "since" | "until" => "7d",
        "error" => "timeout",
        _ => "billing",
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
    fn fields_phrases_negation_and_free_words_parse() {
        let q = parse(r#"flow:billing -status:failed error:"card declined" timeout "two words""#)
            .unwrap();
        let clauses: Vec<_> = q.iter().map(|t| (t.clause.clone(), t.negated)).collect();
        assert_eq!(
            clauses,
            vec![
                (Clause::Field(QField::Flow, "billing".into()), false),
                (Clause::Field(QField::Status, "failed".into()), true),
                (Clause::Field(QField::Error, "card declined".into()), false),
                (Clause::Free("timeout".into()), false),
                (Clause::Free("two words".into()), false),
            ]
        );
        assert_eq!(q[2].column, 29);
        assert!(parse("   ").unwrap().is_empty());
        assert_eq!(
            parse("http://x since:7d").unwrap()[1].clause,
            Clause::Since("7d".into())
        );
    }

    #[test]
    fn errors_name_the_column() {
        let e = parse("flow:a colour:red").unwrap_err();
        assert_eq!(e.column, 8);
        assert!(e.message.contains("unknown field `colour`"), "{e}");
        let e = parse(r#"error:"never closed"#).unwrap_err();
        assert_eq!(e.column, 7);
        assert!(
            e.to_string()
                .starts_with("at column 7: this quote is never closed")
        );
        let e = parse("status:broken").unwrap_err();
        assert_eq!(e.column, 8);
        let e = parse("flow: x").unwrap_err();
        assert!(e.message.contains("needs a value"), "{e}");
    }
}
