//! The syntax tree of an expression, and how it prints (as source, for
//! messages).

use std::fmt;
use std::ops::Range;

use serde_json::Value as Json;

use super::ParseError;
use super::lexer::Tok;
use crate::template::TemplateRef;

/// A parsed expression and the byte range it covers in its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Byte offset of its first character in the expression's source.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`, `true`, `false`, a number or a `'string'`.
    Literal(Json),
    /// `input…`, `steps.<id>.output…` or `steps.<id>.status`.
    Path(TemplateRef),
    /// `.key` or `[key]` applied to a value that is not a path, e.g.
    /// `fromJSON(input.raw).name`.
    Index {
        /// The value indexed.
        target: Box<Expr>,
        /// The key, or an array index written as digits.
        key: String,
    },
    /// `!x`.
    Not(Box<Expr>),
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Its left operand.
        lhs: Box<Expr>,
        /// Its right operand.
        rhs: Box<Expr>,
    },
    /// `name(args…)`; the name is checked at validation ([`super::Func`]).
    Call {
        /// The function's name, as written.
        name: String,
        /// Where the name is written (byte range).
        name_end: usize,
        /// Its arguments.
        args: Vec<Expr>,
    },
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::And => "&&",
            Self::Or => "||",
        }
    }

    /// How tightly it binds: `||` 1, `&&` 2, `== !=` 3, `< <= > >=` 4.
    pub fn precedence(self) -> u8 {
        match self {
            Self::Or => 1,
            Self::And => 2,
            Self::Eq | Self::Ne => 3,
            _ => 4,
        }
    }

    pub(crate) fn from_tok(tok: &Tok, level: u8) -> Option<Self> {
        let op = match tok {
            Tok::Or => Self::Or,
            Tok::And => Self::And,
            Tok::Eq => Self::Eq,
            Tok::Ne => Self::Ne,
            Tok::Lt => Self::Lt,
            Tok::Le => Self::Le,
            Tok::Gt => Self::Gt,
            Tok::Ge => Self::Ge,
            _ => return None,
        };
        (op.precedence() == level).then_some(op)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(Json::String(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            ExprKind::Literal(v) => write!(f, "{v}"),
            ExprKind::Path(r) => write!(f, "{r}"),
            ExprKind::Index { target, key } => write!(f, "{target}[{}]", index_text(key)),
            ExprKind::Not(e) => match e.kind {
                ExprKind::Binary { .. } => write!(f, "!({e})"),
                _ => write!(f, "!{e}"),
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let side = |f: &mut fmt::Formatter<'_>, e: &Expr, tighter: bool| match &e.kind {
                    ExprKind::Binary { op: inner, .. }
                        if inner.precedence() < op.precedence()
                            || (tighter && inner.precedence() == op.precedence()) =>
                    {
                        write!(f, "({e})")
                    }
                    _ => write!(f, "{e}"),
                };
                side(f, lhs, false)?;
                write!(f, " {} ", op.symbol())?;
                side(f, rhs, true)
            }
            ExprKind::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn index_text(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_digit()) {
        key.to_owned()
    } else {
        format!("'{}'", key.replace('\'', "''"))
    }
}

/// What the path `root.segs…` (written at `span`) reads: `input…`,
/// `steps.<id>.output…` or `steps.<id>.status`; any other shape is an error.
pub(crate) fn path_ref(
    root: &str,
    segs: &[String],
    span: Range<usize>,
) -> Result<TemplateRef, ParseError> {
    let shown = TemplateRef::Input(segs.to_vec())
        .to_string()
        .replacen("input", root, 1);
    let r = match (root, segs) {
        ("input", path) => TemplateRef::Input(path.to_vec()),
        ("steps", [step, out, path @ ..]) if out == "output" => TemplateRef::Step {
            step: step.clone(),
            path: path.to_vec(),
        },
        ("steps", [step, status]) if status == "status" => TemplateRef::Status(step.clone()),
        ("steps", [step, status, ..]) if status == "status" => {
            return Err(ParseError::new(
                span,
                format!("`{shown}`: a status is a string, it has no fields"),
                format!("expected `steps.{step}.status`"),
            ));
        }
        ("steps", [step, other, ..]) => {
            return Err(ParseError::new(
                span,
                format!("a step has no `{other}`"),
                format!("expected `steps.{step}.output`"),
            )
            .with_help(format!(
                "write `steps.{step}.output.{other}` to read a field of its output"
            )));
        }
        ("steps", _) => {
            return Err(ParseError::new(
                span,
                "incomplete step reference",
                "expected `steps.<id>.output`",
            ));
        }
        (root, _) => {
            return Err(ParseError::new(
                span,
                format!("unknown root `{root}`"),
                "expected `input.<name>` or `steps.<id>.output`",
            )
            .maybe_help(crate::diagnostic::did_you_mean(root, ["input", "steps"])));
        }
    };
    Ok(r)
}
