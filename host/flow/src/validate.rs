//! Stage 3: semantic checks of an authored flow against the project, and the
//! compiled flow when there is nothing to complain about.

use serde_json::Value as Json;

use crate::authored::{AuthoredFlow, AuthoredStep};
use crate::common::{AuthoredRetry, DEFAULT_RETRY_STRATEGY, DEFAULT_TIMEOUT};
use crate::compiled::{CompiledFlow, CompiledStep};
use crate::decode::Ctx;
use crate::diagnostic::{Diagnostic, did_you_mean, one_of};
use crate::graph::Graph;
use crate::id_prefix::{IdPrefixDecl, PathPrefix, rule_path};
use crate::inputs;
use crate::plugin_use::{PluginRole, PluginUse};
use crate::pools::DEFAULT_POOL;
use crate::project::ProjectConfig;
use crate::refs::{Declared, check_model, check_plugin, check_pool};
use crate::template_check::{self, Scope};

/// Check `flow` against `project`; record problems in `ctx` and return the
/// compiled flow (meaningful only when `ctx` has no errors).
pub(crate) fn validate(
    ctx: &mut Ctx<'_>,
    flow: AuthoredFlow,
    project: &ProjectConfig,
) -> Option<CompiledFlow> {
    let ids: Vec<&str> = flow.steps.iter().map(|s| s.id.as_str()).collect();
    let declared = project.declared();
    let mut uses = Vec::new();

    // Edges of the graph; unknown needs are reported and left out.
    let mut needs_idx: Vec<Vec<usize>> = Vec::with_capacity(flow.steps.len());
    for step in &flow.steps {
        let mut edges = Vec::new();
        for need in &step.needs {
            match ids.iter().position(|id| *id == need.value) {
                Some(j) if !edges.contains(&j) => edges.push(j),
                Some(_) => {
                    let d = ctx
                        .at(
                            need.pos,
                            format!("step `{}` needs `{}` twice", step.id, need.value),
                        )
                        .expected("expected each step once in `needs`");
                    ctx.push(d);
                }
                None => {
                    let others: Vec<&str> =
                        ids.iter().copied().filter(|id| *id != step.id).collect();
                    let d = ctx
                        .at(
                            need.pos,
                            format!("step `{}` needs unknown step `{}`", step.id, need.value),
                        )
                        .expected(format!("expected one of {}", one_of(&others)))
                        .maybe_help(did_you_mean(&need.value, others.iter().copied()));
                    ctx.push(d);
                }
            }
        }
        needs_idx.push(edges);
    }
    let graph = Graph { needs: needs_idx };
    report_cycles(ctx, &flow, &graph);

    let mut conditions = Vec::with_capacity(flow.steps.len());
    for (i, step) in flow.steps.iter().enumerate() {
        check_step_refs(ctx, &declared, step, &mut uses);
        uses.extend(implied_retry(ctx, project, &declared, &flow, step));
        let scope = Scope {
            step: &step.id,
            step_ids: &ids,
            upstream: graph
                .upstream(i)
                .into_iter()
                .filter_map(|j| ids.get(j).copied())
                .collect(),
            needs: step.needs.iter().map(|n| n.value.as_str()).collect(),
            inputs: &flow.inputs,
        };
        if let Some(with) = &step.with {
            template_check::check(ctx, with, &scope);
        }
        conditions.push(
            step.condition
                .as_ref()
                .and_then(|c| template_check::check_condition(ctx, c, &scope)),
        );
    }
    check_flow_defaults(ctx, &declared, &flow, &mut uses);
    for (_, at, input) in &flow.schedules {
        inputs::check_node(ctx, &flow.inputs, *at, input.as_ref());
    }

    let id_prefix = resolve_id_prefix(ctx, project, &flow);

    let order = graph.topo_order()?;
    let dependents = graph.dependents();
    let id = flow.id.clone()?;
    let steps = order
        .iter()
        .filter_map(|&i| {
            let step = flow.steps.get(i)?;
            Some(compile_step(
                project,
                &flow,
                step,
                conditions.get(i).cloned().flatten(),
                dependents.get(i).map(Vec::as_slice).unwrap_or_default(),
                &ids,
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(CompiledFlow {
        id: id.value,
        id_location: crate::yaml::location(ctx.file, id.pos),
        version: flow.version,
        description: flow.description,
        file: ctx.file.to_owned(),
        inputs: flow.inputs,
        steps,
        schedules: flow.schedules.into_iter().map(|(s, _, _)| s).collect(),
        plugin_uses: uses,
        id_prefix: id_prefix?,
    })
}

/// The prefix of the flow's run ids: its own `id_prefix:`, else weft.yaml's;
/// a `from: path` rule is applied to the flow file's path. A path the rule
/// does not match (and no `default:`), or a prefix taken from the path that is
/// not one, is reported at the flow's `id_prefix:` (or its `id:` when the rule
/// is weft.yaml's) and naming the rule's place.
fn resolve_id_prefix(
    ctx: &mut Ctx<'_>,
    project: &ProjectConfig,
    flow: &AuthoredFlow,
) -> Option<String> {
    if flow.id_prefix_bad {
        return None;
    }
    let (rule, at, whose) = match &flow.id_prefix {
        Some(IdPrefixDecl::Fixed(prefix)) => return Some(prefix.clone()),
        Some(IdPrefixDecl::FromPath(rule)) => (rule, rule.location.clone(), "this flow"),
        None => match &project.id_prefix_from_path {
            Some(rule) => {
                let pos = flow.id.as_ref().map_or(
                    crate::yaml::Pos {
                        line: 1,
                        column: 1,
                        width: 1,
                    },
                    |id| id.pos,
                );
                let at = crate::yaml::location(ctx.file, pos);
                (rule, at, "weft.yaml")
            }
            None => return Some(project.id_prefix.clone()),
        },
    };
    let path = rule_path(ctx.file, &project.base_dir);
    let pattern = rule.pattern.as_str();
    let problem = match rule.prefix_of(&path) {
        PathPrefix::Matched(prefix) | PathPrefix::Default(Some(prefix)) => return Some(prefix),
        PathPrefix::Default(None) => Diagnostic::new(
            &at,
            format!("the path `{path}` does not match the `id_prefix` pattern `{pattern}` of {whose}"),
        )
        .expected("expected a path the pattern matches, or a `default:` prefix in the rule")
        .help(format!(
            "the pattern is at {}; add `default: <prefix>` there, or give this flow its own `id_prefix:`",
            rule.location
        )),
        PathPrefix::Invalid { text, why } => Diagnostic::new(
            &at,
            format!(
                "the `id_prefix` pattern `{pattern}` of {whose} takes `{text}` from the path `{path}`, which is not a run id prefix: {why}"
            ),
        )
        .expected("expected 1 to 16 characters of a-z, 0-9 and `-` (not first or last)")
        .help(format!(
            "the pattern is at {}; narrow its group, or give this flow its own `id_prefix:`",
            rule.location
        )),
    };
    ctx.push(problem);
    None
}

fn report_cycles(ctx: &mut Ctx<'_>, flow: &AuthoredFlow, graph: &Graph) {
    for cycle in graph.cycles() {
        let names: Vec<&str> = cycle
            .iter()
            .filter_map(|&i| flow.steps.get(i).map(|s| s.id.as_str()))
            .collect();
        let (Some(&first), Some(&second)) = (cycle.first(), cycle.get(1).or(cycle.first())) else {
            continue;
        };
        let Some(step) = flow.steps.get(first) else {
            continue;
        };
        let target = flow
            .steps
            .get(second)
            .map(|s| s.id.as_str())
            .unwrap_or_default();
        let pos = step
            .needs
            .iter()
            .find(|n| n.value == target)
            .map_or(step.pos, |n| n.pos);
        let mut path = names.join(" → ");
        path.push_str(" → ");
        path.push_str(names.first().copied().unwrap_or_default());
        let d = ctx
            .at(pos, format!("steps form a cycle: {path}"))
            .expected("expected `needs` to form a graph without cycles")
            .help("each arrow points from a step to a step it needs; remove one of these needs");
        ctx.push(d);
    }
}

fn check_step_refs(
    ctx: &mut Ctx<'_>,
    project: &Declared<'_>,
    step: &AuthoredStep,
    uses: &mut Vec<PluginUse>,
) {
    if let Some(u) = &step.uses {
        uses.extend(check_plugin(
            ctx,
            project,
            &u.value,
            u.pos,
            PluginRole::Step,
        ));
    }
    if let Some(r) = &step.retry {
        uses.extend(check_retry(ctx, project, r));
    }
    if let Some(p) = &step.pool {
        check_pool(ctx, project, p);
    }
    if let Some(m) = &step.model {
        check_model(ctx, project, m);
    }
}

fn check_flow_defaults(
    ctx: &mut Ctx<'_>,
    project: &Declared<'_>,
    flow: &AuthoredFlow,
    uses: &mut Vec<PluginUse>,
) {
    if let Some(r) = &flow.defaults.retry {
        uses.extend(check_retry(ctx, project, r));
    }
    if let Some(p) = &flow.defaults.pool {
        check_pool(ctx, project, p);
    }
    if let Some(m) = &flow.defaults.model {
        check_model(ctx, project, m);
    }
}

fn check_retry(ctx: &mut Ctx<'_>, project: &Declared<'_>, r: &AuthoredRetry) -> Option<PluginUse> {
    let role = PluginRole::RetryStrategy {
        defaulted: !r.explicit,
    };
    check_plugin(ctx, project, &r.policy.strategy, r.pos, role)
}

/// The use of the default `exp-backoff` by a step that names no retry policy
/// (nor do the flow's or `weft.yaml`'s `defaults`), located at the step, when
/// `weft.yaml` declares it as a retry plugin. Without it the step has no retry
/// policy, which is not an error: a failure then fails the run.
fn implied_retry(
    ctx: &mut Ctx<'_>,
    project: &ProjectConfig,
    declared: &Declared<'_>,
    flow: &AuthoredFlow,
    step: &AuthoredStep,
) -> Option<PluginUse> {
    let named = step.retry.is_some() || flow.defaults.retry.is_some();
    if named || project.defaults.retry.is_some() || project.default_retry().is_err() {
        return None;
    }
    let role = PluginRole::RetryStrategy { defaulted: true };
    check_plugin(ctx, declared, DEFAULT_RETRY_STRATEGY, step.pos, role)
}

fn compile_step(
    project: &ProjectConfig,
    flow: &AuthoredFlow,
    step: &AuthoredStep,
    condition: Option<crate::condition::Condition>,
    dependents: &[usize],
    ids: &[&str],
) -> Option<CompiledStep> {
    let d = &flow.defaults;
    Some(CompiledStep {
        id: step.id.clone(),
        uses: step.uses.clone()?.value,
        with: step.with.as_ref().map_or_else(
            || Json::Object(serde_json::Map::new()),
            crate::yaml::Node::to_json,
        ),
        needs: step
            .needs
            .iter()
            .fold(Vec::new(), |mut acc: Vec<String>, n| {
                if !acc.contains(&n.value) {
                    acc.push(n.value.clone());
                }
                acc
            }),
        condition,
        dependents: dependents
            .iter()
            .filter_map(|&j| ids.get(j).map(|s| (*s).to_owned()))
            .collect(),
        timeout: step
            .timeout
            .as_ref()
            .or(d.timeout.as_ref())
            .map(|t| t.value)
            .or(project.defaults.timeout)
            .unwrap_or(DEFAULT_TIMEOUT),
        retry: step
            .retry
            .as_ref()
            .or(d.retry.as_ref())
            .map(|r| r.policy.clone())
            .or_else(|| project.defaults.retry.clone())
            .or_else(|| project.default_retry().ok()),
        // Its own, else its model's, else the flow's, else weft.yaml's, else
        // `default`.
        pool: Some(
            step.pool
                .as_ref()
                .map(|p| p.value.clone())
                .or_else(|| {
                    let model = step.model.as_ref().or(d.model.as_ref())?;
                    project.model_pool(&model.value)
                })
                .or_else(|| d.pool.as_ref().map(|p| p.value.clone()))
                .or_else(|| project.defaults.pool.clone())
                .unwrap_or_else(|| DEFAULT_POOL.to_owned()),
        ),
        model: step
            .model
            .as_ref()
            .or(d.model.as_ref())
            .map(|m| m.value.clone()),
        max_model_calls: step
            .max_model_calls
            .unwrap_or(crate::compiled::DEFAULT_MAX_MODEL_CALLS),
        max_tool_calls: step
            .max_tool_calls
            .unwrap_or(crate::compiled::DEFAULT_MAX_TOOL_CALLS),
    })
}
