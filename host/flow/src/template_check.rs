//! Validation of the `${{ }}` templates in a step's `with:`: syntax, inputs that
//! exist, steps that exist and run before the step that reads them.

use std::collections::BTreeSet;

use crate::decode::Ctx;
use crate::diagnostic::{did_you_mean, one_of};
use crate::inputs::{self, InputSpec};
use crate::template::{self, Part, TemplateRef};
use crate::yaml::{Node, Pos, Value};

/// What a step's templates may read.
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

/// Check every template in `node` (a step's `with:`).
pub(crate) fn check(ctx: &mut Ctx<'_>, node: &Node, scope: &Scope<'_>) {
    match &node.value {
        Value::Str(s) => check_string(ctx, node.pos, s, scope),
        Value::Seq(items) => items.iter().for_each(|n| check(ctx, n, scope)),
        Value::Map(entries) => entries.iter().for_each(|(_, n)| check(ctx, n, scope)),
        _ => {}
    }
}

fn check_string(ctx: &mut Ctx<'_>, pos: Pos, text: &str, scope: &Scope<'_>) {
    if !template::has_template(text) {
        return;
    }
    match template::parse(text) {
        Err(e) => {
            let d = ctx
                .at(place(pos, text, e.offset), e.message)
                .expected(e.expected)
                .maybe_help(e.help);
            ctx.push(d);
        }
        Ok(parts) => {
            for part in parts {
                if let Part::Expr(r, offset) = part {
                    check_ref(ctx, place(pos, text, offset), &r, scope);
                }
            }
        }
    }
}

/// The position of the template at byte `offset` of `text`, written at `pos`.
/// Exact for strings on one line (plain or quoted); the string's start otherwise.
fn place(pos: Pos, text: &str, offset: usize) -> Pos {
    let len = text.chars().count();
    if text.contains('\n') || pos.width < len {
        return pos;
    }
    let quote = (pos.width - len) / 2;
    let before = text.get(..offset).map_or(0, |s| s.chars().count());
    let rest = text.get(offset..).unwrap_or("");
    let width = match rest.find("}}") {
        Some(end) => rest.get(..end + 2).map_or(1, |s| s.chars().count()),
        None => 3,
    };
    Pos {
        line: pos.line,
        column: pos.column + quote + before,
        width,
    }
}

fn check_ref(ctx: &mut Ctx<'_>, pos: Pos, r: &TemplateRef, scope: &Scope<'_>) {
    match r {
        TemplateRef::Input(path) => {
            let Some(name) = path.first() else { return };
            if scope.inputs.iter().any(|i| &i.name == name) {
                return;
            }
            let names: Vec<&str> = scope.inputs.iter().map(|i| i.name.as_str()).collect();
            let expected = if names.is_empty() {
                "expected a declared input, but the flow declares no `inputs:`".to_owned()
            } else {
                format!("expected one of the flow's inputs: {}", one_of(&names))
            };
            let d = ctx
                .at(pos, format!("unknown input `{name}` in `${{{{ {r} }}}}`"))
                .expected(expected)
                .maybe_help(inputs::suggest(scope.inputs, name));
            ctx.push(d);
        }
        TemplateRef::Step { step, .. } => {
            if step == scope.step {
                let d = ctx
                    .at(
                        pos,
                        format!("step `{step}` reads its own output in `${{{{ {r} }}}}`"),
                    )
                    .expected("expected the output of a step it needs");
                ctx.push(d);
            } else if !scope.step_ids.contains(&step.as_str()) {
                let d = ctx
                    .at(pos, format!("unknown step `{step}` in `${{{{ {r} }}}}`"))
                    .expected(format!(
                        "expected one of the steps upstream of `{}`{}",
                        scope.step,
                        upstream_list(scope)
                    ))
                    .maybe_help(did_you_mean(step, scope.step_ids.iter().copied()));
                ctx.push(d);
            } else if !scope.upstream.contains(step.as_str()) {
                let mut needs = scope.needs.clone();
                needs.push(step);
                let d = ctx
                    .at(
                        pos,
                        format!(
                            "step `{}` reads the output of `{step}`, which it does not need",
                            scope.step
                        ),
                    )
                    .expected(format!(
                        "expected a step upstream of `{}`{}",
                        scope.step,
                        upstream_list(scope)
                    ))
                    .help(format!(
                        "`{step}` may not have finished when `{}` starts; add it: `needs: [{}]`",
                        scope.step,
                        needs.join(", ")
                    ));
                ctx.push(d);
            }
        }
    }
}

fn upstream_list(scope: &Scope<'_>) -> String {
    if scope.upstream.is_empty() {
        " (it needs none)".to_owned()
    } else {
        let names: Vec<&str> = scope.upstream.iter().copied().collect();
        format!(": {}", one_of(&names))
    }
}
