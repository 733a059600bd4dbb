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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::{ProjectConfig, compile_flow};

    const PROJECT: &str = "id_prefix: t\nplugins:\n  echo: { path: echo.wasm, kind: step }\n";

    /// a → b → c → d, plus `e` needing `a`; each step's `if:` as given.
    fn flow(conditions: &[(&str, &str)]) -> CompiledFlow {
        let mut text = String::from(
            "id: f\ninputs:\n  urgent: { type: boolean }\n  n: { type: integer }\nsteps:\n",
        );
        for (id, needs) in [("a", ""), ("b", "a"), ("c", "b"), ("d", "c"), ("e", "a")] {
            text.push_str(&format!("  {id}:\n    uses: echo\n"));
            if !needs.is_empty() {
                text.push_str(&format!("    needs: [{needs}]\n"));
            }
            if let Some((_, cond)) = conditions.iter().find(|(s, _)| *s == id) {
                text.push_str(&format!("    if: \"{cond}\"\n"));
            }
        }
        let project = ProjectConfig::parse("weft.yaml", PROJECT, Path::new(".")).unwrap();
        compile_flow("f.yaml", &text, &project).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn statuses(list: &[(&str, StepStatus)]) -> HashMap<String, StepStatus> {
        list.iter().map(|(s, st)| ((*s).to_owned(), *st)).collect()
    }

    fn decide(f: &CompiledFlow, step: &str, input: Json, st: &[(&str, StepStatus)]) -> Decision {
        f.decide(step, &input, &HashMap::new(), &statuses(st))
            .unwrap()
    }

    fn skip(reason: &str) -> Decision {
        Decision::Skip {
            reason: reason.to_owned(),
        }
    }

    use StepStatus::{Failed, Skipped, Succeeded};

    #[test]
    fn without_if_every_need_must_succeed() {
        let f = flow(&[]);
        assert_eq!(decide(&f, "a", json!({}), &[]), Decision::Run);
        assert_eq!(
            decide(&f, "b", json!({}), &[("a", Succeeded)]),
            Decision::Run
        );
        assert_eq!(
            decide(&f, "b", json!({}), &[("a", Skipped)]),
            skip("need `a` was skipped")
        );
        assert_eq!(
            decide(&f, "b", json!({}), &[("a", Failed)]),
            skip("need `a` failed")
        );
        assert!(!f.has_failure_followers("a"));
    }

    #[test]
    fn an_if_without_status_functions_needs_success_too() {
        let f = flow(&[("b", "${{ input.urgent }}"), ("e", "input.n > 2")]);
        let ok = [("a", Succeeded)];
        assert_eq!(decide(&f, "b", json!({"urgent": true}), &ok), Decision::Run);
        assert_eq!(
            decide(&f, "b", json!({"urgent": false}), &ok),
            skip("`if: ${{ input.urgent }}` was false")
        );
        assert_eq!(
            decide(&f, "b", json!({}), &ok),
            skip("`if: ${{ input.urgent }}` was false (no value: `input` has no key `urgent`)")
        );
        // The implied `success() &&`: a true condition does not run it after a
        // failed need.
        assert_eq!(
            decide(&f, "b", json!({"urgent": true}), &[("a", Failed)]),
            skip("need `a` failed")
        );
        assert_eq!(decide(&f, "e", json!({"n": 3}), &ok), Decision::Run);
        assert_eq!(
            decide(&f, "e", json!({"n": 2}), &ok),
            skip("`if: input.n > 2` was false")
        );
    }

    #[test]
    fn always_runs_after_anything() {
        let f = flow(&[("c", "always()")]);
        for st in [Succeeded, Skipped, Failed] {
            assert_eq!(
                decide(&f, "c", json!({}), &[("a", Succeeded), ("b", st)]),
                Decision::Run
            );
        }
        // Its dependents follow the usual rule.
        assert_eq!(
            decide(&f, "d", json!({}), &[("c", Succeeded)]),
            Decision::Run
        );
        assert!(f.has_failure_followers("a"));
        assert!(f.has_failure_followers("b"));
        assert!(!f.has_failure_followers("c"));
        assert!(!f.has_failure_followers("e"));
        assert!(!f.has_failure_followers("nope"));
    }

    #[test]
    fn failure_sees_a_failure_two_levels_up() {
        let f = flow(&[("d", "${{ failure() }}")]);
        // a failed, b and c were skipped: d runs.
        let st = [("a", Failed), ("b", Skipped), ("c", Skipped)];
        assert_eq!(decide(&f, "d", json!({}), &st), Decision::Run);
        // Nothing failed: d is skipped.
        let st = [("a", Succeeded), ("b", Succeeded), ("c", Succeeded)];
        assert_eq!(
            decide(&f, "d", json!({}), &st),
            skip("`if: ${{ failure() }}` was false")
        );
        // A failure elsewhere (`e` is not upstream of `d`) does not count.
        let st = [
            ("a", Succeeded),
            ("b", Succeeded),
            ("c", Skipped),
            ("e", Failed),
        ];
        assert!(matches!(
            decide(&f, "d", json!({}), &st),
            Decision::Skip { .. }
        ));
        assert!(f.has_failure_followers("a"));
        assert!(f.has_failure_followers("c"));
        assert!(!f.has_failure_followers("d"));
    }

    #[test]
    fn status_paths_and_success() {
        let f = flow(&[(
            "c",
            "success() || steps.a.status == 'failed' && steps.b.status != 'succeeded'",
        )]);
        assert_eq!(
            decide(&f, "c", json!({}), &[("a", Failed), ("b", Skipped)]),
            Decision::Run
        );
        assert_eq!(
            decide(&f, "c", json!({}), &[("a", Succeeded), ("b", Succeeded)]),
            Decision::Run
        );
        assert!(matches!(
            decide(&f, "c", json!({}), &[("a", Succeeded), ("b", Skipped)]),
            Decision::Skip { .. }
        ));
    }

    #[test]
    fn errors_name_the_step_and_the_expression() {
        let f = flow(&[("b", "input.n < 'x'")]);
        let e = f
            .decide(
                "b",
                &json!({"n": 1}),
                &HashMap::new(),
                &statuses(&[("a", Succeeded)]),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the condition of step `b`, `if: input.n < 'x'`, cannot be evaluated: cannot order `input.n` (a number) and `'x'` (a string) with `<`: only two numbers or two strings can be compared so"
        );
        let e = f
            .decide("zz", &json!({}), &HashMap::new(), &HashMap::new())
            .unwrap_err();
        assert!(matches!(e, ConditionError::UnknownStep { .. }), "{e}");
        let e = f
            .decide("b", &json!({}), &HashMap::new(), &HashMap::new())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot decide whether step `b` runs: its need `a` has not ended"
        );
    }

    #[test]
    fn conditions_are_compiled() {
        let f = flow(&[("b", "${{ input.urgent }}"), ("c", "always()")]);
        let b = f.step("b").unwrap().condition.as_ref().unwrap();
        assert_eq!(b.source, "${{ input.urgent }}");
        assert_eq!(b.offset, 3);
        assert!(!b.calls_status_function());
        let c = f.step("c").unwrap().condition.as_ref().unwrap();
        assert!(c.calls_status_function() && c.may_follow_failure());
        assert!(f.step("a").unwrap().condition.is_none());
    }
}
