//! Validation of a parsed expression: the inputs and steps it reads exist and
//! are upstream, the functions it calls exist and get the right number of
//! arguments, and status functions and paths appear only in an `if:`.

use std::collections::BTreeSet;

use super::ast::{Expr, ExprKind};
use super::functions::Func;
use crate::diagnostic::{closest, did_you_mean, one_of};
use crate::inputs::{self, InputSpec};
use crate::template::TemplateRef;

/// What a step's expressions may read.
pub(crate) struct Scope<'a> {
    /// The step being checked.
    pub step: &'a str,
    /// Every step id of the flow.
    pub step_ids: &'a [&'a str],
    /// Ids of the steps this one needs, directly or not.
    pub upstream: BTreeSet<&'a str>,
    /// Its direct needs, for hints.
    pub needs: Vec<&'a str>,
    /// The flow's inputs.
    pub inputs: &'a [InputSpec],
}

/// Where an expression is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    /// In a `${{ }}` of a step's `with:`.
    Template,
    /// In a step's `if:`.
    Condition,
}

/// One problem in an expression; `start..end` is a byte range of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub expected: String,
    pub help: Option<String>,
}

/// Every problem in `expr` (parsed from `src`), in source order.
pub(crate) fn check(expr: &Expr, src: &str, scope: &Scope<'_>, site: Site) -> Vec<Problem> {
    let mut out = Vec::new();
    walk(expr, src, scope, site, &mut out);
    out
}

fn walk(expr: &Expr, src: &str, scope: &Scope<'_>, site: Site, out: &mut Vec<Problem>) {
    let problem = |message: String, expected: String, help: Option<String>| Problem {
        start: expr.start,
        end: expr.end,
        message,
        expected,
        help,
    };
    match &expr.kind {
        ExprKind::Literal(_) => {}
        ExprKind::Path(r) => {
            out.extend(check_ref(r, scope, site).map(|(m, e, h)| problem(m, e, h)))
        }
        ExprKind::Index { target, .. } | ExprKind::Not(target) => {
            walk(target, src, scope, site, out);
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            walk(lhs, src, scope, site, out);
            walk(rhs, src, scope, site, out);
        }
        ExprKind::Call {
            name,
            name_end,
            args,
        } => {
            let whole = src.get(expr.start..expr.end).unwrap_or(name);
            let place = match site {
                Site::Template => format!("in `${{{{ {whole} }}}}`"),
                Site::Condition => format!("in the `if:` of step `{}`", scope.step),
            };
            match Func::lookup(name) {
                None => {
                    let names: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
                    let help = closest(name, names.iter().copied())
                        .or_else(|| (name == "cancelled").then_some("always"))
                        .map(|c| format!("did you mean `{c}()`?"));
                    out.push(Problem {
                        start: expr.start,
                        end: *name_end,
                        message: format!("unknown function `{name}()` {place}"),
                        expected: format!("expected one of {}", one_of(&names)),
                        help,
                    });
                }
                Some(func) if func.is_status() && site == Site::Template => out.push(problem(
                    format!("`{}()` can only be used in a step's `if:`", func.name()),
                    "expected a value, a path or a function such as `format()`".to_owned(),
                    Some(format!(
                        "a step's `with:` is rendered only when it runs; to decide whether it runs, write `if: {}()` on the step",
                        func.name()
                    )),
                )),
                Some(func) => {
                    if let Some(why) = func.arity_error(args.len()) {
                        out.push(problem(
                            format!("{why} {place}"),
                            format!("expected `{}`", func.signature()),
                            None,
                        ));
                    }
                }
            }
            args.iter().for_each(|a| walk(a, src, scope, site, out));
        }
    }
}

type Found = (String, String, Option<String>);

fn check_ref(r: &TemplateRef, scope: &Scope<'_>, site: Site) -> Option<Found> {
    let place = match site {
        Site::Template => format!("in `${{{{ {r} }}}}`"),
        Site::Condition => format!("in the `if:` of step `{}`", scope.step),
    };
    let reader = match site {
        Site::Template => format!("step `{}`", scope.step),
        Site::Condition => format!("the `if:` of step `{}`", scope.step),
    };
    let (step, what) = match r {
        TemplateRef::Input(path) => {
            let name = path.first()?;
            if scope.inputs.iter().any(|i| &i.name == name) {
                return None;
            }
            let names: Vec<&str> = scope.inputs.iter().map(|i| i.name.as_str()).collect();
            let expected = if names.is_empty() {
                "expected a declared input, but the flow declares no `inputs:`".to_owned()
            } else {
                format!("expected one of the flow's inputs: {}", one_of(&names))
            };
            return Some((
                format!("unknown input `{name}` {place}"),
                expected,
                inputs::suggest(scope.inputs, name),
            ));
        }
        TemplateRef::Step { step, .. } => (step, "output"),
        TemplateRef::Status(step) => {
            if site == Site::Template {
                return Some((
                    format!("`{r}` can only be read in a step's `if:`"),
                    format!("expected `steps.{step}.output` or a path of `input`"),
                    Some(format!(
                        "a step's `with:` is rendered only when it runs; to decide whether it runs by how `{step}` ended, give it an `if:`"
                    )),
                ));
            }
            (step, "status")
        }
    };
    if step == scope.step {
        let message = match site {
            Site::Template => format!("step `{step}` reads its own output {place}"),
            Site::Condition => format!("{reader} reads its own {what}"),
        };
        return Some((
            message,
            format!("expected the {what} of a step it needs"),
            None,
        ));
    }
    if !scope.step_ids.contains(&step.as_str()) {
        return Some((
            format!("unknown step `{step}` {place}"),
            format!(
                "expected one of the steps upstream of `{}`{}",
                scope.step,
                upstream_list(scope)
            ),
            did_you_mean(step, scope.step_ids.iter().copied()),
        ));
    }
    if scope.upstream.contains(step.as_str()) {
        return None;
    }
    let mut needs = scope.needs.clone();
    needs.push(step);
    Some((
        format!("{reader} reads the {what} of `{step}`, which it does not need"),
        format!(
            "expected a step upstream of `{}`{}",
            scope.step,
            upstream_list(scope)
        ),
        Some(format!(
            "`{step}` may not have finished when `{}` starts; add it: `needs: [{}]`",
            scope.step,
            needs.join(", ")
        )),
    ))
}

fn upstream_list(scope: &Scope<'_>) -> String {
    if scope.upstream.is_empty() {
        " (it needs none)".to_owned()
    } else {
        let names: Vec<&str> = scope.upstream.iter().copied().collect();
        format!(": {}", one_of(&names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn problems(src: &str, site: Site) -> Vec<Problem> {
        let ids = ["fetch", "lint", "store"];
        let scope = Scope {
            step: "store",
            step_ids: &ids,
            upstream: ["fetch"].into_iter().collect(),
            needs: vec!["fetch"],
            inputs: &[],
        };
        check(&parse(src).unwrap(), src, &scope, site)
    }

    #[test]
    fn functions_are_checked() {
        let p = problems("contans(steps.fetch.output, 'x')", Site::Template);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].start, p[0].end), (0, 7));
        assert_eq!(p[0].help.as_deref(), Some("did you mean `contains()`?"));
        let p = problems("1 == startsWith('a')", Site::Condition);
        assert_eq!((p[0].start, p[0].end), (5, 20));
        assert_eq!(
            p[0].message,
            "`startsWith()` takes 2 arguments, found 1 in the `if:` of step `store`"
        );
        let p = problems("failure()", Site::Template);
        assert!(p[0].message.contains("only be used in a step's `if:`"));
        assert!(problems("failure() || always()", Site::Condition).is_empty());
        assert_eq!(
            problems("cancelled()", Site::Condition)[0].help.as_deref(),
            Some("did you mean `always()`?")
        );
    }

    #[test]
    fn refs_are_checked_everywhere() {
        let p = problems(
            "steps.fetch.status == 'failed' && steps.lint.status",
            Site::Condition,
        );
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].start, p[0].end), (34, 51));
        assert_eq!(
            p[0].message,
            "the `if:` of step `store` reads the status of `lint`, which it does not need"
        );
        let p = problems("steps.fetch.status", Site::Template);
        assert!(p[0].message.contains("can only be read in a step's `if:`"));
        let p = problems("!input.x", Site::Condition);
        assert_eq!(
            p[0].message,
            "unknown input `x` in the `if:` of step `store`"
        );
        let p = problems("steps.store.status", Site::Condition);
        assert_eq!(
            p[0].message,
            "the `if:` of step `store` reads its own status"
        );
        let p = problems("length(steps.fech.output)", Site::Template);
        assert_eq!(p[0].help.as_deref(), Some("did you mean `fetch`?"));
    }
}
