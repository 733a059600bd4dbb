//! Step conditions (`if:`): what a step's `if:` compiles to, and the types of
//! the decision whether a step runs ([`crate::CompiledFlow::decide`], in
//! `decide`).
//!
//! The rules (also in `docs/expressions.md`):
//! - a step without `if:` runs only when every direct need succeeded
//!   (`success()`);
//! - an `if:` that calls none of `success()`, `failure()` and `always()`
//!   means `success() && (expr)`;
//! - `success()` is true when every direct need succeeded, `failure()` when
//!   some step upstream of it (transitively) failed, `always()` always.
//!
//! So a skipped or failed step's dependents are skipped, unless their `if:`
//! calls `always()` (or `failure()` when something upstream failed).

use crate::expr::{self, Expr};

/// A step's `if:`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The condition as written, e.g. `${{ input.urgent }}` or
    /// `failure() || input.force`.
    pub source: String,
    /// Its expression (without the implied `success() &&`).
    pub expr: Expr,
    /// Byte offset of the expression in `source` (after a `${{`, if any).
    pub offset: usize,
}

impl Condition {
    /// Whether it calls `success()`, `failure()` or `always()`; when it does
    /// not, it means `success() && (expr)`.
    pub fn calls_status_function(&self) -> bool {
        self.expr.calls_status_function()
    }

    /// Whether it calls `failure()` or `always()`: whether it may let the step
    /// run after something upstream failed.
    pub fn may_follow_failure(&self) -> bool {
        self.expr.calls(expr::Func::Failure) || self.expr.calls(expr::Func::Always)
    }
}

/// Whether a step whose needs have all ended runs or is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it.
    Run,
    /// Skip it (its status becomes [`crate::StepStatus::Skipped`]).
    Skip {
        /// Why, for people: "need `triage` was skipped" or
        /// "`if: ${{ input.urgent }}` was false".
        reason: String,
    },
}

/// A decision that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// The flow has no such step.
    #[error("cannot decide whether step `{step}` runs: the flow has no such step")]
    UnknownStep {
        /// The step asked about.
        step: String,
    },
    /// A need has no status yet: the step cannot be decided before its
    /// needs have ended.
    #[error("cannot decide whether step `{step}` runs: its need `{need}` has not ended")]
    NeedNotEnded {
        /// The step asked about.
        step: String,
        /// The need with no status.
        need: String,
    },
    /// The condition cannot be evaluated.
    #[error("the condition of step `{step}`, `if: {expression}`, cannot be evaluated: {message}")]
    Eval {
        /// The step.
        step: String,
        /// Its `if:` as written.
        expression: String,
        /// What failed.
        message: String,
    },
}
