//! `weft plugin run FILE.wasm --input JSON`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use weft_core::{
    AttemptInfo, Candidate, CompletionRequest, LogLevel, PluginError, PluginKind, PoolState,
    RunInfo,
};
use weft_runtime::{
    CallContext, CallLimits, LogSink, MemoryLog, Plugin, Runtime, SingleAdapterHost,
};

use super::json_arg;
use crate::cli::RunArgs;
use crate::embedded;

pub(crate) async fn run(args: RunArgs) -> Result<ExitCode> {
    let runtime = super::standalone_runtime()?;
    if args.memory > runtime.max_memory_bytes() {
        bail!(
            "--memory {} is over the runtime's maximum of {} bytes",
            args.memory,
            runtime.max_memory_bytes()
        );
    }
    let config = json_arg("--config", &args.config)?;
    let input = args
        .input
        .as_deref()
        .map(|i| json_arg("--input", i))
        .transpose()?;
    let bytes = weft_runtime::read(&args.file)?;
    let kind = match args.kind {
        Some(kind) => kind,
        None => runtime.inspect(&bytes).await?.world.with_context(|| {
            format!(
                "{} satisfies no weft world; `weft plugin inspect {}` shows why",
                args.file.display(),
                args.file.display()
            )
        })?,
    };
    let name = stem(&args.file);
    let plugin = runtime
        .load(&name, &bytes, kind)
        .await
        .with_context(|| format!("could not load {} as a {kind} plugin", args.file.display()))?;

    let memory_log = Arc::new(MemoryLog::default());
    let log: Arc<dyn LogSink> = if args.json {
        memory_log.clone()
    } else {
        Arc::new(StderrLog)
    };
    let limits = CallLimits {
        timeout: args.timeout,
        memory_bytes: args.memory,
        output_bytes: args.max_output,
        ..CallLimits::default()
    };
    let ctx = CallContext::new(limits).with_log(log);
    let started = Instant::now();
    let (output, artifacts) = call(&runtime, &plugin, &args, ctx, &config, input)
        .await
        .with_context(|| format!("plugin `{name}` failed"))?;
    let elapsed = started.elapsed();

    if args.json {
        let report = json!({
            "plugin": name,
            "kind": kind,
            "sha256": plugin.sha256(),
            "output": output,
            "logs": memory_log.lines(),
            "artifacts": artifacts,
            "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&output)?);
    }
    Ok(ExitCode::SUCCESS)
}

async fn call(
    runtime: &Runtime,
    plugin: &Plugin,
    args: &RunArgs,
    ctx: CallContext,
    config: &str,
    input: Option<String>,
) -> Result<(Value, Value)> {
    match plugin.kind() {
        PluginKind::Step => {
            let model = load_model(runtime, args).await?;
            let model_config = json_arg("--model-config", &args.model_config)?;
            let host = Arc::new(SingleAdapterHost::new(model, model_config, ctx.clone()));
            let ctx = ctx.with_step_host(host.clone());
            let info = RunInfo {
                run_id: "local-run".into(),
                flow_id: "adhoc".into(),
                step_id: plugin.name().into(),
                attempt: 1,
                tenant: "default".into(),
            };
            let input = input.unwrap_or_else(|| "{}".into());
            let out = plugin.run_step(&ctx, &info, config, &input).await?;
            let artifacts: serde_json::Map<String, Value> = host
                .artifacts()
                .into_iter()
                .map(|(k, v)| (k, serde_json::from_str(&v).unwrap_or(Value::String(v))))
                .collect();
            Ok((serde_json::from_str(&out)?, Value::Object(artifacts)))
        }
        PluginKind::Model => {
            let input = input.context("a model adapter needs --input: a completion request")?;
            let req: CompletionRequest =
                serde_json::from_str(&input).context("--input is not a completion request")?;
            let completion = plugin.complete(&ctx, config, &req).await?;
            Ok((serde_json::to_value(completion)?, json!({})))
        }
        PluginKind::Retry => {
            let attempt: AttemptInfo = match input {
                Some(i) => serde_json::from_str(&i).context("--input is not an attempt")?,
                None => sample_attempt(),
            };
            let decision = plugin.decide(&ctx, config, &attempt).await?;
            Ok((serde_json::to_value(decision)?, json!({})))
        }
        PluginKind::Pool => {
            let PoolInput { state, candidates } = match input {
                Some(i) => serde_json::from_str(&i)
                    .context("--input is not {\"state\": {...}, \"candidates\": [...]}")?,
                None => sample_pool(),
            };
            let chosen = plugin.select(&ctx, config, &state, &candidates).await?;
            Ok((serde_json::to_value(chosen)?, json!({})))
        }
    }
}

async fn load_model(runtime: &Runtime, args: &RunArgs) -> Result<Arc<Plugin>> {
    match &args.model {
        Some(path) => runtime
            .load_file(path, PluginKind::Model)
            .await
            .with_context(|| format!("--model {} is not a usable model adapter", path.display())),
        None => runtime
            .load("mock-model", embedded::MOCK_MODEL, PluginKind::Model)
            .await
            .context("the built-in mock-model adapter could not be loaded"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolInput {
    state: PoolState,
    candidates: Vec<Candidate>,
}

fn sample_attempt() -> AttemptInfo {
    AttemptInfo {
        run_id: "local-run".into(),
        flow_id: "adhoc".into(),
        step_id: "step".into(),
        attempt: 1,
        error: PluginError::Transient("sample failure".into()),
        elapsed_ms: 0,
    }
}

fn sample_pool() -> PoolInput {
    let candidate = |id: &str, tenant: &str, priority, ready_at_ms| Candidate {
        task_id: id.into(),
        run_id: format!("run-{id}"),
        flow_id: "adhoc".into(),
        tenant: tenant.into(),
        priority,
        ready_at_ms,
    };
    PoolInput {
        state: PoolState {
            pool: "default".into(),
            active: 1,
            max_concurrent: 3,
            free_slots: 2,
            now_ms: 10_000,
            active_by_tenant: vec![weft_core::TenantLoad {
                tenant: "acme".into(),
                active: 1,
            }],
        },
        candidates: vec![
            candidate("t1", "acme", 0, 1_000),
            candidate("t2", "acme", 5, 2_000),
            candidate("t3", "globex", 0, 3_000),
        ],
    }
}

fn stem(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into())
}

/// Prints plugin log lines to stderr as they come.
struct StderrLog;

impl LogSink for StderrLog {
    fn log(&self, plugin: &str, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        eprintln!("[{plugin}] {level}: {message}");
    }
}
