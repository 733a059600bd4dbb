//! Loading the plugins a project's flows reference, each as the kind it is used
//! as, and reporting the ones that are not (for `weft validate`).

use std::collections::HashMap;
use std::sync::Arc;

use weft_core::PluginKind;
use weft_flow::{CompiledFlow, Diagnostic, Diagnostics, PluginUse, ProjectConfig};
use weft_runtime::{LoadError, Plugin, Runtime};

use crate::error::EngineError;

/// Every plugin use of the project and its flows: `weft.yaml`'s own (model
/// adapters, default strategies and pools) first, then each flow's.
pub(crate) fn all_uses<'a>(
    project: &'a ProjectConfig,
    flows: &'a [CompiledFlow],
) -> impl Iterator<Item = &'a PluginUse> {
    project
        .plugin_uses
        .iter()
        .chain(flows.iter().flat_map(|f| f.plugin_uses.iter()))
}

/// Loads every referenced plugin once per (name, kind). The first failure is
/// returned with the plugin, its file and the place that referenced it.
pub(crate) async fn load_all(
    runtime: &Runtime,
    project: &ProjectConfig,
    flows: &[CompiledFlow],
) -> Result<HashMap<String, Arc<Plugin>>, EngineError> {
    let mut loaded: HashMap<String, Arc<Plugin>> = HashMap::new();
    for u in all_uses(project, flows) {
        let kind = u.expected_kind();
        if loaded.get(&u.plugin).is_some_and(|p| p.kind() == kind) {
            continue;
        }
        let plugin =
            runtime
                .load_file(&u.path, kind)
                .await
                .map_err(|source| EngineError::Plugin {
                    plugin: u.plugin.clone(),
                    path: u.path.clone(),
                    referenced_at: u.location.clone(),
                    expected: kind,
                    source: Box::new(source),
                })?;
        loaded.insert(u.plugin.clone(), plugin);
    }
    Ok(loaded)
}

/// Loads each plugin the project and `flows` reference as the kind it is used
/// as, and returns a diagnostic at every reference whose component cannot be
/// loaded as that kind (a wrong world, a wrong signature, a missing file).
pub async fn check_plugins(
    runtime: &Runtime,
    project: &ProjectConfig,
    flows: &[CompiledFlow],
) -> Diagnostics {
    let mut verdicts: HashMap<(String, PluginKind), Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for u in all_uses(project, flows) {
        let kind = u.expected_kind();
        let key = (u.plugin.clone(), kind);
        if !verdicts.contains_key(&key) {
            let verdict = verdict(runtime, u, kind).await;
            verdicts.insert(key.clone(), verdict);
        }
        if let Some(Some(problem)) = verdicts.get(&key) {
            let d = Diagnostic::new(&u.location, problem.clone())
                .expected(format!(
                    "expected {} to name a {kind} plugin (a component of the {} world)",
                    u.role,
                    kind.world()
                ))
                .help(format!("`{}` is {}", u.plugin, u.path.display()))
                .width(u.plugin.chars().count());
            out.push(with_source_line(d));
        }
    }
    out.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    Diagnostics(out)
}

/// `None` if the plugin loads as `kind`; otherwise what is wrong.
async fn verdict(runtime: &Runtime, u: &PluginUse, kind: PluginKind) -> Option<String> {
    let err = match runtime.load_file(&u.path, kind).await {
        Ok(_) => return None,
        Err(e) => e,
    };
    if let LoadError::WrongWorld { .. } = err
        && let Ok(bytes) = weft_runtime::read(&u.path)
        && let Ok(inspection) = runtime.inspect(&bytes).await
        && let Some(actual) = inspection.world
    {
        return Some(format!(
            "plugin `{}` is a {actual} plugin, but {} needs a {kind} plugin",
            u.plugin, u.role
        ));
    }
    Some(format!(
        "plugin `{}` cannot be loaded as a {kind} plugin: {}",
        u.plugin,
        first_line(&err.to_string())
    ))
}

fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_owned();
    let rest: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
    if rest.is_empty() {
        first
    } else {
        format!("{first} {}", rest.join("; "))
    }
}

/// Attaches the source line the diagnostic points at, when the file is readable.
fn with_source_line(mut d: Diagnostic) -> Diagnostic {
    if let Ok(text) = std::fs::read_to_string(&d.file) {
        d.source_line = d
            .line
            .checked_sub(1)
            .and_then(|i| text.lines().nth(i))
            .map(|l| l.trim_end().to_owned());
    }
    d
}
