//! `${{ … }}` templates: the syntax, shared by validation and [`crate::render`].
//!
//! A template reads `input` (the run's input), `input.a.b`, `steps.<id>.output` or
//! `steps.<id>.output.a.0.b`; a numeric segment indexes an array.

use std::fmt;

/// What a template reads.
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
}

impl fmt::Display for TemplateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, path) = match self {
            Self::Input(path) => ("input".to_owned(), path),
            Self::Step { step, path } => (format!("steps.{step}.output"), path),
        };
        f.write_str(&head)?;
        for seg in path {
            write!(f, ".{seg}")?;
        }
        Ok(())
    }
}

/// A piece of a string that may hold templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text copied as is.
    Literal(String),
    /// A `${{ … }}`, and its byte offset in the string.
    Expr(TemplateRef, usize),
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// Byte offset of the `${{` in the string.
    pub offset: usize,
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
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else {
            return Err(SyntaxError {
                offset: base + start,
                message: "unclosed `${{` in a template".to_owned(),
                expected: "expected `}}` after the expression".to_owned(),
                help: None,
            });
        };
        let expr =
            parse_expr(after[..end].trim()).map_err(|(message, expected, help)| SyntaxError {
                offset: base + start,
                message,
                expected,
                help,
            })?;
        parts.push(Part::Expr(expr, base + start));
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

type ExprError = (String, String, Option<String>);

fn parse_expr(expr: &str) -> Result<TemplateRef, ExprError> {
    const EXPECTED: &str = "expected `input.<name>` or `steps.<id>.output`";
    if expr.is_empty() {
        return Err((
            "empty template `${{ }}`".to_owned(),
            EXPECTED.to_owned(),
            None,
        ));
    }
    let segs: Vec<&str> = expr.split('.').collect();
    if let Some(bad) = segs.iter().find(|s| !valid_segment(s)) {
        return Err((
            format!("invalid template `${{{{ {expr} }}}}`: bad path segment `{bad}`"),
            "expected names of letters, digits, `_` or `-` joined by `.`, e.g. `steps.fetch.output.items.0`"
                .to_owned(),
            None,
        ));
    }
    match segs.as_slice() {
        ["input", path @ ..] => Ok(TemplateRef::Input(owned(path))),
        ["steps", step, "output", path @ ..] => Ok(TemplateRef::Step {
            step: (*step).to_owned(),
            path: owned(path),
        }),
        ["steps", step, other, ..] => Err((
            format!("invalid template `${{{{ {expr} }}}}`: a step has no `{other}`"),
            format!("expected `steps.{step}.output`"),
            Some(format!(
                "write `steps.{step}.output.{other}` to read a field of its output"
            )),
        )),
        ["steps", ..] => Err((
            format!("invalid template `${{{{ {expr} }}}}`: incomplete step reference"),
            "expected `steps.<id>.output`".to_owned(),
            None,
        )),
        [root, ..] => Err((
            format!("invalid template `${{{{ {expr} }}}}`: unknown root `{root}`"),
            EXPECTED.to_owned(),
            crate::diagnostic::did_you_mean(root, ["input", "steps"]),
        )),
        [] => Err((
            "empty template `${{ }}`".to_owned(),
            EXPECTED.to_owned(),
            None,
        )),
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn owned(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_literals_and_refs() {
        let parts = parse("Hi ${{ input.name }}, see ${{steps.a.output.items.0}}!").unwrap();
        assert_eq!(parts.len(), 5);
        assert_eq!(
            parts[1],
            Part::Expr(TemplateRef::Input(vec!["name".into()]), 3)
        );
        assert_eq!(
            parts[3],
            Part::Expr(
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
}
