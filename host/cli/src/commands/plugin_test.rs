//! `weft plugin test DIR|FILE [--cases FILE]`: run a plugin's sample cases in
//! the sandbox and print a pass/fail table; exit non-zero when one fails.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;
use weft_core::{
    AttemptInfo, Candidate, Completion, CompletionRequest, PluginError, PluginKind, PoolState,
    RunInfo, Usage,
};
use weft_runtime::{CallContext, CallError, CallLimits, MemoryLog, Plugin, StepHost};

use super::plugin_cases::{Case, Outcome, ScriptedAnswer, load, plugin_error_parts};
use super::plugin_project::Project;
use crate::cli::PluginTestArgs;

pub(crate) async fn run(args: PluginTestArgs) -> Result<ExitCode> {
    let (wasm, default_cases, kind) = target(&args.target)?;
    let cases_path = args.cases.clone().unwrap_or(default_cases);
    let cases = load(&cases_path)?;
    let runtime = super::standalone_runtime()?;
    let bytes = weft_runtime::read(&wasm)?;
    let kind = match kind {
        Some(k) => k,
        None => runtime.inspect(&bytes).await?.world.with_context(|| {
            format!(
                "{} satisfies no weft world; `weft plugin inspect` shows why",
                wasm.display()
            )
        })?,
    };
    let name = wasm
        .file_stem()
        .map_or_else(|| "plugin".into(), |s| s.to_string_lossy().into_owned());
    let plugin = runtime
        .load(&name, &bytes, kind)
        .await
        .with_context(|| format!("could not load {} as a {kind} plugin", wasm.display()))?;

    println!(
        "{} ({kind}), cases from {}",
        wasm.display(),
        cases_path.display()
    );
    let limits = CallLimits {
        timeout: args.timeout,
        ..CallLimits::default()
    };
    let (mut passed, mut failed) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let outcome = call(&plugin, case, limits.clone()).await;
        match case.verdict(&outcome) {
            None => {
                passed += 1;
                println!("  pass  {}", case.label(i));
            }
            Some(why) => {
                failed += 1;
                println!("  FAIL  {}", case.label(i));
                for line in why.lines() {
                    println!("        {line}");
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The component, the default cases file and (for a project) the world.
fn target(path: &Path) -> Result<(PathBuf, PathBuf, Option<PluginKind>)> {
    if path.is_dir() {
        let project = Project::open(path)?;
        let wasm = project.wasm();
        if !wasm.is_file() {
            bail!(
                "{} is not built yet: run `weft plugin build {}` first",
                wasm.display(),
                path.display()
            );
        }
        return Ok((wasm, path.join("cases.json"), Some(project.manifest.world)));
    }
    if !path.is_file() {
        bail!(
            "{} is neither a plugin project nor a .wasm file",
            path.display()
        );
    }
    let beside = path.parent().unwrap_or(Path::new(".")).join("cases.json");
    Ok((path.to_path_buf(), beside, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolInput {
    state: PoolState,
    candidates: Vec<Candidate>,
}

/// Run one case and say what it came to.
async fn call(plugin: &Plugin, case: &Case, limits: CallLimits) -> Outcome {
    let config = case.config_text();
    let ctx = CallContext::new(limits).with_log(Arc::new(MemoryLog::default()));
    let input = |what: &str| -> Result<_, (String, String)> {
        Err(("case".into(), format!("its input is not {what}")))
    };
    let result: Result<Value, CallError> = match plugin.kind() {
        PluginKind::Step => {
            let host = Arc::new(ScriptedHost::new(case.model.clone()));
            let ctx = ctx.with_step_host(host);
            let info = RunInfo {
                run_id: "test-run".into(),
                flow_id: "plugin-test".into(),
                step_id: plugin.name().into(),
                attempt: 1,
                tenant: "default".into(),
            };
            let out = plugin
                .run_step(&ctx, &info, &config, &case.input.to_string())
                .await;
            out.map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)))
        }
        PluginKind::Model => {
            let Ok(req) = serde_json::from_value::<CompletionRequest>(case.input.clone()) else {
                return input("a completion request");
            };
            let out = plugin.complete(&ctx, &config, &req).await;
            out.map(|c| serde_json::to_value(c).unwrap_or_default())
        }
        PluginKind::Retry => {
            let Ok(attempt) = serde_json::from_value::<AttemptInfo>(case.input.clone()) else {
                return input("an attempt ({run_id, flow_id, step_id, attempt, error})");
            };
            let out = plugin.decide(&ctx, &config, &attempt).await;
            out.map(|d| serde_json::to_value(d).unwrap_or_default())
        }
        PluginKind::Pool => {
            let Ok(pool) = serde_json::from_value::<PoolInput>(case.input.clone()) else {
                return input("{\"state\": {...}, \"candidates\": [...]}");
            };
            let out = plugin
                .select(&ctx, &config, &pool.state, &pool.candidates)
                .await;
            out.map(Value::from)
        }
    };
    result.map_err(|e| match e {
        CallError::Plugin(pe) => plugin_error_parts(&pe),
        other => ("trap".into(), other.to_string()),
    })
}

/// Answers a step's model calls from the case's script, in order; artifacts
/// live in memory for the case.
struct ScriptedHost {
    answers: Mutex<VecDeque<ScriptedAnswer>>,
    scripted: usize,
    artifacts: Mutex<HashMap<String, String>>,
}

impl ScriptedHost {
    fn new(answers: Vec<ScriptedAnswer>) -> Self {
        Self {
            scripted: answers.len(),
            answers: Mutex::new(answers.into()),
            artifacts: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait::async_trait]
impl StepHost for ScriptedHost {
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, PluginError> {
        let next = self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        match next {
            Some(ScriptedAnswer::Text(text)) => Ok(Completion {
                usage: Usage {
                    input_tokens: 0,
                    output_tokens: 0,
                    cost_usd: 0.0,
                },
                text,
                model: req.model,
                finish_reason: "stop".into(),
            }),
            Some(ScriptedAnswer::Error { error }) => Err(error),
            None => Err(PluginError::Permanent(format!(
                "weft plugin test: the step made more model calls than the case's `model` \
                 list answers ({})",
                self.scripted
            ))),
        }
    }

    async fn artifact_get(&self, key: &str) -> Option<String> {
        let map = self
            .artifacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(key).cloned()
    }

    async fn artifact_put(&self, key: &str, value: String) -> Result<(), PluginError> {
        let mut map = self
            .artifacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.insert(key.to_owned(), value);
        Ok(())
    }
}
