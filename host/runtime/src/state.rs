//! The data of one call's `Store`: WASI with nothing granted, wasi:http under
//! the call's [`HttpPolicy`](crate::HttpPolicy) (none: every request refused),
//! the limiter, and the weft host imports.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};
use weft_core::LogLevel;

use crate::bindings::{host, logging, types};
use crate::convert;
use crate::host_api::{CallContext, LogSink, StepHost};
use crate::http_policy::PolicyHooks;
use crate::limits::SandboxLimiter;

/// Everything a call's `Store` holds.
pub(crate) struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_hooks: PolicyHooks,
    table: ResourceTable,
    pub(crate) limiter: SandboxLimiter,
    pub(crate) output: MemoryOutputPipe,
    plugin_name: Arc<str>,
    log: Arc<dyn LogSink>,
    log_cap: usize,
    log_budget: usize,
    logs_dropped: usize,
    step_host: Option<Arc<dyn StepHost>>,
}

impl CallState {
    /// A fresh state for one call: no files, no environment, no arguments, no
    /// network; stdout and stderr go to a small in-memory buffer that error
    /// messages quote.
    pub(crate) fn new(plugin_name: Arc<str>, ctx: &CallContext) -> Self {
        let output = MemoryOutputPipe::new(ctx.limits.stderr_bytes);
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .build();
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            http_hooks: PolicyHooks(ctx.http.clone()),
            table: ResourceTable::new(),
            limiter: SandboxLimiter::new(&ctx.limits),
            output,
            plugin_name,
            log: ctx.log.clone(),
            log_cap: ctx.limits.log_lines,
            log_budget: ctx.limits.log_lines,
            logs_dropped: 0,
            step_host: ctx.step_host.clone(),
        }
    }

    /// The last part of what the plugin wrote to stdout/stderr.
    pub(crate) fn output_tail(&self) -> String {
        const TAIL: usize = 4096;
        let bytes = self.output.contents();
        let start = bytes.len().saturating_sub(TAIL);
        self.redact(&String::from_utf8_lossy(&bytes[start..]))
    }

    /// `text` without the call's API key, if it has one.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.http_hooks.0 {
            Some(policy) => policy.redact(text),
            None => text.to_owned(),
        }
    }

    /// Reports dropped log lines once the call is over.
    pub(crate) fn finish_logs(&self) {
        if self.logs_dropped > 0 {
            self.log.log(
                &self.plugin_name,
                LogLevel::Warn,
                &format!(
                    "{} further log lines dropped (cap {} per call)",
                    self.logs_dropped, self.log_cap
                ),
            );
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

impl types::Host for CallState {}

impl logging::Host for CallState {
    async fn log(&mut self, level: types::Level, message: String) {
        if self.log_budget == 0 {
            self.logs_dropped += 1;
            return;
        }
        self.log_budget -= 1;
        const MAX_LINE: usize = 4096;
        let mut message = self.redact(&message);
        if message.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" …(truncated)");
        }
        self.log
            .log(&self.plugin_name, convert::level(level), &message);
    }
}

impl host::Host for CallState {
    async fn complete(
        &mut self,
        req: types::CompletionRequest,
    ) -> Result<types::Completion, types::PluginError> {
        let Some(step_host) = self.step_host.clone() else {
            return Err(types::PluginError::Permanent(
                "this call has no host to route model requests to".into(),
            ));
        };
        step_host
            .complete(convert::request_from_guest(req))
            .await
            .map(convert::completion_to_guest)
            .map_err(convert::error_to_guest)
    }

    async fn artifact_get(&mut self, key: String) -> Option<String> {
        let step_host = self.step_host.clone()?;
        step_host.artifact_get(&key).await
    }

    async fn artifact_put(&mut self, key: String, value: String) -> Result<(), types::PluginError> {
        let Some(step_host) = self.step_host.clone() else {
            return Err(types::PluginError::Permanent(
                "this call has no host to store artifacts in".into(),
            ));
        };
        if serde_json::from_str::<serde::de::IgnoredAny>(&value).is_err() {
            return Err(types::PluginError::InvalidInput(format!(
                "artifact `{key}` is not valid JSON"
            )));
        }
        step_host
            .artifact_put(&key, value)
            .await
            .map_err(convert::error_to_guest)
    }

    async fn call_tool(
        &mut self,
        plugin: String,
        config: String,
        input: String,
    ) -> Result<String, types::PluginError> {
        let Some(step_host) = self.step_host.clone() else {
            return Err(types::PluginError::Permanent(
                "call-tool: this call has no host to run tools on".into(),
            ));
        };
        for (what, text) in [("config", &config), ("input", &input)] {
            if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
                return Err(types::PluginError::InvalidInput(format!(
                    "call-tool: the {what} for `{plugin}` is not valid JSON"
                )));
            }
        }
        step_host
            .call_tool(&plugin, config, input)
            .await
            .map_err(convert::error_to_guest)
    }
}
