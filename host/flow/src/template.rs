//! `${{ … }}` templates: strings holding expressions of [`crate::expr`], shared
//! by validation and [`crate::render`].
//!
//! A template reads `input` (the run's input), `input.a.b`, `steps.<id>.output`
//! or `steps.<id>.output.a.0.b` (a numeric segment indexes an array), and may
//! compare, combine and call functions: `${{ format('{0}!', input.name) }}`.

use std::fmt;
use std::ops::Range;

use crate::expr::{self, Expr};

/// What a path in an expression reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    /// `input` or `input.<path>`: the run's input.
    Input(Vec<String>),
    /// `steps.<step>.output` or `steps.<step>.output.<path>`.
    Step {
        /// The step whose output is read.
        step: String,
        /// The path inside its output.
        path: Vec<String>,
    },
    /// `steps.<step>.status`: how the step ended (`if:` only).
    Status(String),
}

impl fmt::Display for TemplateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, path) = match self {
            Self::Input(path) => ("input".to_owned(), path.as_slice()),
            Self::Step { step, path } => (format!("steps.{step}.output"), path.as_slice()),
            Self::Status(step) => (format!("steps.{step}.status"), &[][..]),
        };
        f.write_str(&head)?;
        for seg in path {
            if valid_segment(seg) {
                write!(f, ".{seg}")?;
            } else {
                write!(f, "['{}']", seg.replace('\'', "''"))?;
            }
        }
        Ok(())
    }
}

/// A piece of a string that may hold templates.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text copied as is.
    Literal(String),
    /// A `${{ … }}`: its expression, and the byte offset of the `${{` in the
    /// string. The expression's byte offsets count from just after the `${{`.
    Expr(Expr, usize),
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// Byte offset of the `${{` in the string.
    pub offset: usize,
    /// The bytes of the string the error is about: the bad token, or the whole
    /// `${{ … }}` when all of it is wrong.
    pub at: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// What was expected.
    pub expected: String,
    /// A hint, if one fits.
    pub help: Option<String>,
}

const OPEN: &str = "${{";
const CLOSE: &str = "}}";

/// Split `text` into literal text and templates.
pub fn parse(text: &str) -> Result<Vec<Part>, SyntaxError> {
    let mut parts = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(start) = rest.find(OPEN) {
        if start > 0 {
            parts.push(Part::Literal(rest[..start].to_owned()));
        }
        let offset = base + start;
        let after = &rest[start + OPEN.len()..];
        let Some(end) = close(after) else {
            return Err(SyntaxError {
                offset,
                at: offset..offset + OPEN.len(),
                message: "unclosed `${{` in a template".to_owned(),
                expected: "expected `}}` after the expression".to_owned(),
                help: None,
            });
        };
        let src = &after[..end];
        let whole = offset..offset + OPEN.len() + end + CLOSE.len();
        let expr = parse_expr(src).map_err(|e| {
            let trimmed = src.trim();
            let inner = offset + OPEN.len();
            let all =
                e.start <= src.len() - src.trim_start().len() && e.end >= src.trim_end().len();
            SyntaxError {
                offset,
                at: if all || trimmed.is_empty() {
                    whole.clone()
                } else if e.start >= src.trim_end().len() {
                    // It ends too soon: point at the `}}`.
                    inner + end..whole.end
                } else {
                    inner + e.start..inner + e.end.clamp(e.start + 1, src.len())
                },
                message: if trimmed.is_empty() {
                    "empty template `${{ }}`".to_owned()
                } else {
                    format!("invalid template `${{{{ {trimmed} }}}}`: {}", e.message)
                },
                expected: e.expected,
                help: e.help,
            }
        })?;
        parts.push(Part::Expr(expr, offset));
        let consumed = start + OPEN.len() + end + CLOSE.len();
        base += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_owned()));
    }
    Ok(parts)
}

/// Whether `text` holds any `${{`.
pub fn has_template(text: &str) -> bool {
    text.contains(OPEN)
}

/// The bytes of the `${{ … }}` that starts at byte `offset` of `text`.
pub(crate) fn span_at(text: &str, offset: usize) -> Range<usize> {
    let inner = offset + OPEN.len();
    match text.get(inner..).and_then(close) {
        Some(end) => offset..inner + end + CLOSE.len(),
        None => offset..inner.min(text.len()),
    }
}

/// Where the `}}` that closes an expression starts in `after` (the text after
/// its `${{`): the first one outside a `'string'`, else the first one.
fn close(after: &str) -> Option<usize> {
    let mut quoted = false;
    let bytes = after.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'}' if !quoted && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
    }
    after.find(CLOSE)
}

fn parse_expr(src: &str) -> Result<Expr, expr::ParseError> {
    if src.trim().is_empty() {
        return Err(expr::ParseError::new(
            0..src.len(),
            "empty template",
            "expected `input.<name>` or `steps.<id>.output`",
        ));
    }
    expr::parse(src)
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::ExprKind;

    fn path(part: &Part) -> (TemplateRef, usize) {
        match part {
            Part::Expr(
                Expr {
                    kind: ExprKind::Path(r),
                    ..
                },
                at,
            ) => (r.clone(), *at),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn splits_literals_and_refs() {
        let parts = parse("Hi ${{ input.name }}, see ${{steps.a.output.items.0}}!").unwrap();
        assert_eq!(parts.len(), 5);
        assert_eq!(
            path(&parts[1]),
            (TemplateRef::Input(vec!["name".into()]), 3)
        );
        assert_eq!(
            path(&parts[3]),
            (
                TemplateRef::Step {
                    step: "a".into(),
                    path: vec!["items".into(), "0".into()]
                },
                26
            )
        );
    }

    #[test]
    fn reports_bad_templates() {
        assert!(parse("${{ input.x").is_err());
        assert!(parse("${{ }}").is_err());
        let e = parse("${{ inputs.x }}").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `input`?"));
        assert!(parse("${{ steps.a.outputs.x }}").is_err());
        assert!(parse("${{ steps.a }}").is_err());
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = parse("x ${{ input.a == }} y").unwrap_err();
        assert_eq!((e.offset, e.at.clone()), (2, 17..19));
        assert_eq!(
            e.message,
            "invalid template `${{ input.a == }}`: the expression ends too soon"
        );
        let e = parse("${{ inputs.x }}").unwrap_err();
        assert_eq!(e.at, 0..15);
        let e = parse("${{ inputs.x == 1 }}").unwrap_err();
        assert_eq!(e.at, 4..12);
    }

    #[test]
    fn braces_in_strings_do_not_close() {
        let parts = parse("${{ format('{{0}}', 1) }}!").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(span_at("a ${{ 'x}}' }} b", 2), 2..14);
        assert_eq!(
            TemplateRef::Input(vec!["odd key".into(), "0".into()]).to_string(),
            "input['odd key'].0"
        );
    }
}
