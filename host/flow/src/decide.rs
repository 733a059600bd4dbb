//! [`CompiledFlow::decide`]: whether a step whose needs have all ended runs
//! or is skipped, and [`CompiledFlow::has_failure_followers`].
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

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use crate::compiled::CompiledFlow;
use crate::condition::{Condition, ConditionError, Decision};
use crate::expr::{self, Env, StatusFns, StepStatus, Val};

impl CompiledFlow {
    /// Whether `step`, whose needs have all ended, runs. `input` is the run's
    /// checked input, `outputs` those of the steps that succeeded, `statuses`
    /// how each ended step ended.
    ///
    /// Without an `if:` the step runs when every direct need succeeded. An
    /// `if:` that calls none of `success()`, `failure()` and `always()` means
    /// `success() && (expr)`; `success()` is "every direct need succeeded",
    /// `failure()` "some step upstream (transitively) failed", `always()`
    /// true. The step runs when the condition is truthy (anything but
    /// `false`, `null`, `0`, `""` and a missing value).
    ///
    /// Errors: an unknown step, a need with no status, or a condition that
    /// cannot be evaluated (e.g. it orders a string and a number).
    pub fn decide(
        &self,
        step: &str,
        input: &Json,
        outputs: &HashMap<String, Json>,
        statuses: &HashMap<String, StepStatus>,
    ) -> Result<Decision, ConditionError> {
        let s = self.step(step).ok_or_else(|| ConditionError::UnknownStep {
            step: step.to_owned(),
        })?;
        let mut not_succeeded = None;
        for need in &s.needs {
            match statuses.get(need) {
                None => {
                    return Err(ConditionError::NeedNotEnded {
                        step: step.to_owned(),
                        need: need.clone(),
                    });
                }
                Some(StepStatus::Succeeded) => {}
                Some(other) => {
                    not_succeeded.get_or_insert((need, *other));
                }
            }
        }
        let need_reason = |(need, status): (&String, StepStatus)| Decision::Skip {
            reason: match status {
                StepStatus::Failed => format!("need `{need}` failed"),
                _ => format!("need `{need}` was skipped"),
            },
        };
        let Some(cond) = &s.condition else {
            return Ok(not_succeeded.map_or(Decision::Run, need_reason));
        };
        let implicit = !cond.calls_status_function();
        if implicit && let Some(n) = not_succeeded {
            return Ok(need_reason(n));
        }
        let failure = self
            .upstream_of(step)
            .iter()
            .any(|u| statuses.get(*u) == Some(&StepStatus::Failed));
        let env = Env {
            input,
            outputs,
            statuses: Some(statuses),
            status: Some(StatusFns {
                success: not_succeeded.is_none(),
                failure,
            }),
        };
        let value = expr::eval(&cond.expr, &env).map_err(|e| ConditionError::Eval {
            step: step.to_owned(),
            expression: cond.source.clone(),
            message: e.message,
        })?;
        let truthy = match &value {
            Val::Json(v) => expr::truthy(v),
            Val::Missing(_) => false,
        };
        Ok(if truthy {
            Decision::Run
        } else {
            let why = match &value {
                Val::Missing(e) => format!(" (no value: {})", expr::missing_why(e)),
                Val::Json(_) => String::new(),
            };
            Decision::Skip {
                reason: format!("`if: {}` was false{why}", cond.source),
            }
        })
    }

    /// Whether a final failure of `step` can be followed by a step that still
    /// runs: some step downstream of it (transitively) has a condition that
    /// calls `failure()` or `always()`. False for an unknown step.
    pub fn has_failure_followers(&self, step: &str) -> bool {
        let mut seen = HashSet::new();
        let mut todo: Vec<&str> = vec![step];
        while let Some(id) = todo.pop() {
            let Some(s) = self.step(id) else { continue };
            for d in &s.dependents {
                if !seen.insert(d.as_str()) {
                    continue;
                }
                if self
                    .step(d)
                    .and_then(|s| s.condition.as_ref())
                    .is_some_and(Condition::may_follow_failure)
                {
                    return true;
                }
                todo.push(d);
            }
        }
        false
    }

    /// Every step `step` needs, directly or not.
    fn upstream_of(&self, step: &str) -> HashSet<&str> {
        let mut seen = HashSet::new();
        let mut todo: Vec<&str> = vec![step];
        while let Some(id) = todo.pop() {
            let Some(s) = self.step(id) else { continue };
            for n in &s.needs {
                if seen.insert(n.as_str()) {
                    todo.push(n);
                }
            }
        }
        seen
    }
}
