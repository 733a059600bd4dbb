//! The `host` import of a step run by `weft worker`: model calls, artifacts and
//! tool calls are forwarded to the daemon, fenced by the lease's token, so the
//! journal, the artifacts, the ledger and provider credentials all stay with
//! the daemon (which also runs the tools: the worker needs only the step's own
//! component).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use weft_core::worker_protocol::{
    ArtifactRequest, ArtifactResponse, ModelCallRequest, ModelCallResponse, ToolCallRequest,
    ToolCallResponse,
};
use weft_core::{Completion, CompletionRequest, PluginError};
use weft_runtime::StepHost;

use super::api::WorkerApi;

/// Serves one leased task's `host` import through the daemon.
pub(crate) struct RemoteStepHost {
    api: Arc<WorkerApi>,
    task: u64,
    token: u64,
    /// The index of the attempt's next model call (the journal's key).
    next_call: AtomicU32,
    /// The index of the attempt's next tool call.
    next_tool: AtomicU32,
    /// When the step's attempt runs out of time (a tool gets what is left).
    deadline: Instant,
}

impl RemoteStepHost {
    /// The host import of task `task`, leased with `token`, whose attempt
    /// must end by `deadline`.
    pub(crate) fn new(api: Arc<WorkerApi>, task: u64, token: u64, deadline: Instant) -> Self {
        Self {
            api,
            task,
            token,
            next_call: AtomicU32::new(0),
            next_tool: AtomicU32::new(0),
            deadline,
        }
    }

    fn path(&self, what: &str) -> String {
        format!("/v1/worker/tasks/{}/{what}", self.task)
    }
}

#[async_trait::async_trait]
impl StepHost for RemoteStepHost {
    async fn complete(&self, request: CompletionRequest) -> Result<Completion, PluginError> {
        let index = self.next_call.fetch_add(1, Ordering::SeqCst);
        let body = ModelCallRequest {
            token: self.token,
            index,
            request,
        };
        let answer: ModelCallResponse = self
            .api
            .post(&self.path("model"), &body, None)
            .await
            .map_err(|e| PluginError::Transient(format!("model call through the daemon: {e}")))?;
        answer.result
    }

    async fn artifact_get(&self, key: &str) -> Option<String> {
        let body = ArtifactRequest {
            token: self.token,
            key: key.to_owned(),
            value: None,
        };
        match self
            .api
            .post::<_, ArtifactResponse>(&self.path("artifact-get"), &body, None)
            .await
        {
            Ok(answer) => answer.value,
            Err(e) => {
                tracing::warn!(task = self.task, key, "artifact_get: {e}");
                None
            }
        }
    }

    async fn artifact_put(&self, key: &str, value: String) -> Result<(), PluginError> {
        let value_len = value.len();
        let body = ArtifactRequest {
            token: self.token,
            key: key.to_owned(),
            value: Some(value),
        };
        self.api
            .post::<_, ArtifactResponse>(&self.path("artifact-put"), &body, None)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                super::api::ApiError::Refused {
                    status: 400,
                    message,
                    ..
                } => PluginError::InvalidInput(message),
                // Over the daemon's request cap: as over the artifact cap, the
                // same value would be refused again.
                super::api::ApiError::Refused {
                    status: 413,
                    message,
                    ..
                } => PluginError::InvalidInput(format!(
                    "artifact `{key}` ({} bytes of JSON) is too big for the daemon to take: {message}",
                    value_len
                )),
                other => PluginError::Transient(format!("artifact `{key}`: {other}")),
            })
    }

    async fn call_tool(
        &self,
        plugin: &str,
        config: String,
        input: String,
    ) -> Result<String, PluginError> {
        let index = self.next_tool.fetch_add(1, Ordering::SeqCst);
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let body = ToolCallRequest {
            token: self.token,
            index,
            plugin: plugin.to_owned(),
            config,
            input,
            remaining_ms: u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX),
        };
        let answer: ToolCallResponse = self
            .api
            .post(&self.path("tool"), &body, None)
            .await
            .map_err(|e| {
                PluginError::Transient(format!("call-tool: `{plugin}` through the daemon: {e}"))
            })?;
        answer.result
    }
}
