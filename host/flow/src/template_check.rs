//! Validation of the expressions of a step: the `${{ }}` templates in its
//! `with:` and its `if:` — syntax, inputs that exist, steps that exist and
//! run before the step that reads them, functions that exist (see
//! [`crate::expr`]'s checker).

use std::ops::Range;

use crate::condition::Condition;
use crate::decode::{Ctx, Spanned};
use crate::expr::{self, Problem, Site};
use crate::template::{self, Part};
use crate::yaml::{Node, Pos, Value};

pub(crate) use crate::expr::Scope;

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
                .at(place(pos, text, e.at), e.message)
                .expected(e.expected)
                .maybe_help(e.help);
            ctx.push(d);
        }
        Ok(parts) => {
            for part in parts {
                if let Part::Expr(e, offset) = part {
                    let whole = template::span_at(text, offset);
                    let src = text
                        .get(offset + 3..whole.end.saturating_sub(2))
                        .unwrap_or("");
                    let problems = expr::check(&e, src, scope, Site::Template);
                    report(ctx, pos, text, &e, offset + 3, whole, problems);
                }
            }
        }
    }
}

/// Record `problems` of the expression `e`, whose source starts at byte
/// `base` of `text`; a problem with all of `e` points at `whole`.
fn report(
    ctx: &mut Ctx<'_>,
    pos: Pos,
    text: &str,
    e: &expr::Expr,
    base: usize,
    whole: Range<usize>,
    problems: Vec<Problem>,
) {
    for p in problems {
        let at = if p.start <= e.start && p.end >= e.end {
            whole.clone()
        } else {
            base + p.start..base + p.end
        };
        let d = ctx
            .at(place(pos, text, at), p.message)
            .expected(p.expected)
            .maybe_help(p.help);
        ctx.push(d);
    }
}

/// Check a step's `if:` and parse it: `${{ expr }}` or a bare expression.
/// Returns `None` (after recording why) when it is not valid.
pub(crate) fn check_condition(
    ctx: &mut Ctx<'_>,
    cond: &Spanned<String>,
    scope: &Scope<'_>,
) -> Option<Condition> {
    let text = cond.value.as_str();
    let pos = cond.pos;
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let (e, base, whole) = if template::has_template(text) {
        let parts = match template::parse(text) {
            Ok(parts) => parts,
            Err(e) => {
                let message = e
                    .message
                    .replacen("invalid template", "invalid condition", 1);
                let d = ctx
                    .at(place(pos, text, e.at), message)
                    .expected(e.expected)
                    .maybe_help(e.help);
                ctx.push(d);
                return None;
            }
        };
        match parts.as_slice() {
            [Part::Expr(e, offset)] if text[..*offset].trim().is_empty() => {
                (e.clone(), offset + 3, template::span_at(text, *offset))
            }
            _ => {
                let d = ctx
                    .at(
                        pos,
                        format!("invalid condition `if: {trimmed}`: it is not one expression"),
                    )
                    .expected("expected one expression, bare or in one `${{ … }}`")
                    .help("write e.g. `if: ${{ input.a && input.b }}` or `if: input.a && input.b`");
                ctx.push(d);
                return None;
            }
        }
    } else {
        match expr::parse(trimmed) {
            Ok(e) => (e, lead, lead..lead + trimmed.len()),
            Err(e) => {
                let whole = lead..lead + trimmed.len();
                let at = if trimmed.is_empty() || (e.start == 0 && e.end >= trimmed.len()) {
                    whole
                } else if e.start >= trimmed.len() {
                    whole.end..whole.end + 1
                } else {
                    lead + e.start..lead + e.end.clamp(e.start + 1, trimmed.len())
                };
                let message = if trimmed.is_empty() {
                    "empty condition `if:`".to_owned()
                } else {
                    format!("invalid condition `if: {trimmed}`: {}", e.message)
                };
                let d = ctx
                    .at(place(pos, text, at), message)
                    .expected(e.expected)
                    .maybe_help(e.help);
                ctx.push(d);
                return None;
            }
        }
    };
    let src_end = if base > lead {
        whole.end.saturating_sub(2)
    } else {
        whole.end
    };
    let src = text.get(base..src_end).unwrap_or("");
    let problems = expr::check(&e, src, scope, Site::Condition);
    let ok = problems.is_empty();
    report(ctx, pos, text, &e, base, whole, problems);
    ok.then(|| Condition {
        source: trimmed.to_owned(),
        expr: e,
        offset: base - lead,
    })
}

/// The position of the bytes `at` of `text`, written at `pos`. Exact for
/// strings on one line (plain or quoted); the string's start otherwise.
fn place(pos: Pos, text: &str, at: Range<usize>) -> Pos {
    let len = text.chars().count();
    if text.contains('\n') || pos.width < len {
        return pos;
    }
    let quote = (pos.width - len) / 2;
    let chars = |r: Range<usize>| text.get(r).map_or(0, |s| s.chars().count());
    let before = chars(0..at.start.min(text.len()));
    let width = chars(at.start.min(text.len())..at.end.min(text.len()));
    Pos {
        line: pos.line,
        column: pos.column + quote + before,
        width: width.max(1),
    }
}
