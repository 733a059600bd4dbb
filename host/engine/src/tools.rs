//! The `call-tool` host import: a step (the `agent` plugin) runs another step
//! plugin as a tool.
//!
//! The tool runs in the engine (for a remote worker's step too: the worker
//! forwards the call to the daemon, see [`Engine::tool_call_remote`]), in a
//! fresh sandbox of its own, with the caller's run-info and at most the
//! caller's remaining deadline. Its model calls are journaled under the step
//! key `<step>/tool-<index>`, so a re-run of the caller that makes the same
//! tool calls gets their journaled answers too. A tool's own `call-tool` is
//! refused: tools nest one level deep. Every call, answered or failed, is
//! recorded in the run's ledger as a `tool-called` event with the SHA-256 of
//! the tool's component.
//!
//! [`Engine::tool_call_remote`]: crate::Engine::tool_call_remote

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use weft_core::worker_protocol::ToolCallRequest;
use weft_core::{PluginError, PluginKind, RunInfo};
use weft_runtime::{CallContext, CallLimits, Plugin};
use weft_store_api::ToolCall;

use crate::args::plugin_config;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::host::{TaskHost, TaskScope, ToolScope};
use crate::shared::Inner;

/// Whether a step of `info`'s run whose plugin is `caller` may run `plugin`
/// as a tool. Every rule about which tools a run may use lives here (tenant
/// capabilities go here too).
pub(crate) fn may_use_tool(
    inner: &Inner,
    info: &RunInfo,
    caller: &str,
    plugin: &str,
) -> Result<(), PluginError> {
    if let Some(caps) = inner.project.tenant_capabilities(&info.tenant)
        && !caps.allows_plugin(plugin)
    {
        return Err(PluginError::Permanent(format!(
            "call-tool: tenant `{}` may not use plugin `{plugin}`: it is not in tenants.{}.capabilities.plugins in weft.yaml",
            info.tenant, info.tenant
        )));
    }
    if plugin == caller {
        return Err(PluginError::InvalidInput(format!(
            "call-tool: `{plugin}` cannot call itself as a tool (tools nest one level deep)"
        )));
    }
    let project = &inner.project;
    match project.plugin(plugin) {
        Some(decl) if decl.kind == PluginKind::Step => Ok(()),
        Some(decl) => Err(PluginError::InvalidInput(format!(
            "call-tool: tool `{plugin}` is a {} plugin in {}; a tool must be a step plugin",
            decl.kind, project.file
        ))),
        None => {
            let mut steps: Vec<&str> = project
                .plugin_names(PluginKind::Step)
                .filter(|n| *n != caller)
                .collect();
            steps.sort_unstable();
            Err(PluginError::InvalidInput(format!(
                "call-tool: unknown tool plugin `{plugin}` ({} declares these step plugins: {})",
                project.file,
                steps.join(", ")
            )))
        }
    }
}

/// The loaded step plugin `name`: the catalog's when a flow uses it, else
/// loaded now from its `weft.yaml` path (the runtime caches the compiled
/// component, so this is cheap after the first time).
async fn load_tool(inner: &Inner, name: &str) -> Result<Arc<Plugin>, PluginError> {
    let catalog = inner.catalog();
    if let Some(p) = catalog.plugin(name)
        && p.kind() == PluginKind::Step
    {
        return Ok(Arc::clone(p));
    }
    let Some(decl) = inner.project.plugin(name) else {
        return Err(PluginError::InvalidInput(format!(
            "call-tool: unknown tool plugin `{name}`"
        )));
    };
    inner
        .runtime
        .load_file(&decl.path, PluginKind::Step)
        .await
        .map_err(|e| {
            PluginError::Permanent(format!(
                "call-tool: tool `{name}` ({}) cannot be loaded: {e}",
                decl.path.display()
            ))
        })
}

impl TaskHost {
    /// Tool call number `index` of this attempt: runs `plugin` with `config`
    /// and `input` (JSON text) and records the call in the ledger (a refused
    /// one too, with an empty SHA-256).
    pub(crate) async fn call_tool_at(
        &self,
        index: u32,
        plugin: &str,
        config: &str,
        input: &str,
    ) -> Result<String, PluginError> {
        let Some(scope) = self.tools() else {
            return Err(PluginError::InvalidInput(format!(
                "call-tool: a tool cannot call tools (asked for `{plugin}`): tools nest one level deep"
            )));
        };
        self.past_cap(crate::call_caps::CapKind::Tool, index)?;
        let inner = self.inner();
        let allowed = may_use_tool(inner, &scope.info, &scope.caller, plugin);
        let loaded = match allowed {
            Ok(()) => load_tool(inner, plugin).await,
            Err(e) => Err(e),
        };
        let (result, sha256) = match loaded {
            Ok(tool) => {
                let out = self
                    .run_tool(&tool, plugin, scope, index, config, input)
                    .await;
                (out, tool.sha256().to_owned())
            }
            Err(e) => (Err(e), String::new()),
        };
        let call = ToolCall {
            step: self.step().to_owned(),
            index,
            plugin: plugin.to_owned(),
            sha256,
            error: result.as_ref().err().map(|e| {
                crate::caps::cap_message(&inner.project.limits, &e.to_string()).into_owned()
            }),
        };
        inner
            .store
            .tool_called(self.run(), call, inner.now())
            .await
            .map_err(|e| PluginError::Transient(format!("call-tool: ledger: {e}")))?;
        result
    }

    async fn run_tool(
        &self,
        tool: &Plugin,
        name: &str,
        scope: &ToolScope,
        index: u32,
        config: &str,
        input: &str,
    ) -> Result<String, PluginError> {
        let remaining = scope.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(PluginError::Transient(format!(
                "call-tool: tool `{name}`: the step's deadline has passed"
            )));
        }
        let over: Value = serde_json::from_str(config)
            .map_err(|e| PluginError::InvalidInput(format!("call-tool: tool config: {e}")))?;
        let mut config = plugin_config(&self.inner().project, name, &over);
        if config.is_null() {
            config = Value::Object(serde_json::Map::new());
        }
        let host = self.tool_host(index);
        let ctx = CallContext::new(CallLimits {
            timeout: remaining.max(Duration::from_millis(1)),
            ..CallLimits::default()
        })
        .with_step_host(Arc::new(host));
        tool.run_step(&ctx, &scope.info, &config.to_string(), input)
            .await
            .map_err(|e| e.to_plugin_error())
    }
}

impl Engine {
    /// Serves tool call `call.index` of a remote worker's running step: runs
    /// the tool here, as for an in-process step, with at most
    /// `call.remaining_ms` of the step's deadline. `Err` when the lease is not
    /// the current one; `Ok(Err(..))` is the error the step gets.
    pub async fn tool_call_remote(
        &self,
        task: u64,
        call: &ToolCallRequest,
    ) -> Result<Result<String, PluginError>, EngineError> {
        let lease = self.current_lease(task, call.token).await?;
        let catalog = self.inner.catalog();
        let (run, flow, step) = crate::remote::locate_lease(&self.inner, &catalog, &lease).await?;
        let remaining = Duration::from_millis(call.remaining_ms).min(step.timeout);
        let info = RunInfo {
            run_id: lease.run.clone(),
            flow_id: flow.id.clone(),
            step_id: step.id.clone(),
            attempt: lease.attempt,
            tenant: run.tenant.clone(),
        };
        let scope = TaskScope::of(&self.inner, task, call.token, &run.tenant).await?;
        let host =
            TaskHost::new(Arc::clone(&self.inner), scope, &lease.run, step).with_tools(ToolScope {
                info,
                caller: step.uses.clone(),
                deadline: Instant::now() + remaining,
            });
        Ok(host
            .call_tool_at(call.index, &call.plugin, &call.config, &call.input)
            .await)
    }
}
