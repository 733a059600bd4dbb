//! The `${{ }}` expression language, shared by templates in a step's `with:`
//! and by step conditions (`if:`); the reference is `docs/expressions.md`.
//!
//! - literals: `null`, `true`, `false`, numbers (`3`, `-2`, `2.5`), strings in
//!   single quotes (`'it''s'`);
//! - paths: `input`, `input.a.b`, `input.items[0]`, `input['odd key']`,
//!   `steps.<id>.output…` (a numeric segment indexes an array) and
//!   `steps.<id>.status` (`if:` only);
//! - operators, loosest first: `||`, `&&`, `== !=`, `< <= > >=`, `!`;
//!   `&&`/`||` return an operand and short-circuit;
//! - functions: [`Func`].
//!
//! Stages: the lexer → [`parse`] → checks at validation → evaluation at run
//! time.

mod ast;
mod check;
mod eval;
mod functions;
mod lexer;
mod parser;
mod value;

use std::ops::Range;

pub use ast::{BinOp, Expr, ExprKind};
pub(crate) use check::{Problem, Scope, Site, check};
pub use eval::EvalError;
pub(crate) use eval::{Env, StatusFns, eval, missing_why};
pub use functions::Func;
pub use parser::parse;
pub(crate) use value::Val;
pub use value::{StepStatus, json_eq, text, truthy};

/// An expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Byte offset of the bad token in the expression.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// What is wrong, e.g. "unexpected `name` after `input.first`".
    pub message: String,
    /// What was expected there, e.g. "expected `)` to close the `(`".
    pub expected: String,
    /// A hint, if one fits.
    pub help: Option<String>,
}

impl ParseError {
    pub(crate) fn new(
        at: Range<usize>,
        message: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            start: at.start,
            end: at.end,
            message: message.into(),
            expected: expected.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

impl Expr {
    /// Whether the expression calls `func` anywhere.
    pub fn calls(&self, func: Func) -> bool {
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Path(_) => false,
            ExprKind::Index { target, .. } | ExprKind::Not(target) => target.calls(func),
            ExprKind::Binary { lhs, rhs, .. } => lhs.calls(func) || rhs.calls(func),
            ExprKind::Call { name, args, .. } => {
                Func::lookup(name) == Some(func) || args.iter().any(|a| a.calls(func))
            }
        }
    }

    /// Whether it calls `success()`, `failure()` or `always()`.
    pub fn calls_status_function(&self) -> bool {
        [Func::Success, Func::Failure, Func::Always]
            .into_iter()
            .any(|f| self.calls(f))
    }
}
