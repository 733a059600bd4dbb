//! What the embedder gives a call: its limits, where its log lines go, and (for a
//! step) the host services behind the `host` import.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use weft_core::{Completion, CompletionRequest, LogLevel, PluginError};

use crate::http_policy::HttpPolicy;
use crate::limits::CallLimits;
use crate::plugin::Plugin;

/// Where plugin log lines go.
pub trait LogSink: Send + Sync {
    /// Record one line written by `plugin`.
    fn log(&self, plugin: &str, level: LogLevel, message: &str);
}

/// Forwards plugin log lines to `tracing`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingLog;

impl LogSink for TracingLog {
    fn log(&self, plugin: &str, level: LogLevel, message: &str) {
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

/// One collected log line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    /// The plugin that wrote it.
    pub plugin: String,
    /// Its level.
    pub level: LogLevel,
    /// Its text.
    pub message: String,
}

/// Keeps plugin log lines in memory, in order.
#[derive(Debug, Default)]
pub struct MemoryLog {
    lines: Mutex<Vec<LogLine>>,
}

impl MemoryLog {
    /// The lines so far.
    pub fn lines(&self) -> Vec<LogLine> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl LogSink for MemoryLog {
    fn log(&self, plugin: &str, level: LogLevel, message: &str) {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(LogLine {
                plugin: plugin.to_owned(),
                level,
                message: message.to_owned(),
            });
    }
}

/// The services behind a step's `host` import.
#[async_trait::async_trait]
pub trait StepHost: Send + Sync {
    /// Answer a completion request, routed to a model adapter.
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, PluginError>;
    /// Read an artifact of the current run.
    async fn artifact_get(&self, key: &str) -> Option<String>;
    /// Store an artifact of the current run (already checked to be JSON).
    async fn artifact_put(&self, key: &str, value: String) -> Result<(), PluginError>;
    /// Run step plugin `plugin` as a tool with `config` and `input` (both
    /// already checked to be JSON) and return its output as JSON text. The
    /// default refuses: a host that can run tools overrides it.
    async fn call_tool(
        &self,
        plugin: &str,
        config: String,
        input: String,
    ) -> Result<String, PluginError> {
        let _ = (config, input);
        Err(PluginError::Permanent(format!(
            "call-tool: this host cannot run tools (asked for `{plugin}`)"
        )))
    }
}

/// Everything a plugin call is given besides its arguments.
#[derive(Clone)]
pub struct CallContext {
    /// The call's limits.
    pub limits: CallLimits,
    /// Where its log lines go.
    pub log: Arc<dyn LogSink>,
    /// For steps: what serves the `host` import. Without one, `complete` and
    /// `artifact-put` return a permanent error.
    pub step_host: Option<Arc<dyn StepHost>>,
    /// For model adapters: the hosts the call may reach over `wasi:http`, and
    /// its API key. Without one, every outgoing request is refused.
    pub http: Option<Arc<HttpPolicy>>,
}

impl CallContext {
    /// A context with the given limits, logs to `tracing`, and no step host.
    pub fn new(limits: CallLimits) -> Self {
        Self {
            limits,
            log: Arc::new(TracingLog),
            step_host: None,
            http: None,
        }
    }

    /// The same context with `policy` governing its outgoing HTTP requests.
    pub fn with_http(mut self, policy: HttpPolicy) -> Self {
        self.http = Some(Arc::new(policy));
        self
    }

    /// The same context with its log lines sent to `log`.
    pub fn with_log(mut self, log: Arc<dyn LogSink>) -> Self {
        self.log = log;
        self
    }

    /// The same context with `host` serving the step's `host` import.
    pub fn with_step_host(mut self, host: Arc<dyn StepHost>) -> Self {
        self.step_host = Some(host);
        self
    }
}

/// A step host for running one plugin on its own (`weft plugin run`, tests): every
/// model request goes to one adapter plugin, artifacts live in memory.
pub struct SingleAdapterHost {
    adapter: Arc<Plugin>,
    adapter_config: String,
    ctx: CallContext,
    artifacts: Mutex<HashMap<String, String>>,
}

impl SingleAdapterHost {
    /// Route every completion to `adapter` with `adapter_config` (JSON), each call
    /// under `ctx`.
    pub fn new(adapter: Arc<Plugin>, adapter_config: String, ctx: CallContext) -> Self {
        Self {
            adapter,
            adapter_config,
            ctx,
            artifacts: Mutex::new(HashMap::new()),
        }
    }

    /// The artifacts stored so far, sorted by key.
    pub fn artifacts(&self) -> Vec<(String, String)> {
        let map = self
            .artifacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort();
        all
    }
}

#[async_trait::async_trait]
impl StepHost for SingleAdapterHost {
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, PluginError> {
        self.adapter
            .complete(&self.ctx, &self.adapter_config, &req)
            .await
            .map_err(|e| e.to_plugin_error())
    }

    async fn artifact_get(&self, key: &str) -> Option<String> {
        self.artifacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    async fn artifact_put(&self, key: &str, value: String) -> Result<(), PluginError> {
        self.artifacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), value);
        Ok(())
    }
}
