//! The plain Rust shape of the values in `wit/types.wit`.
//!
//! Field names follow the WIT names (kebab-case becomes snake_case); the serde
//! form is what `weft plugin run` reads and prints.

use serde::{Deserialize, Serialize};

/// Where a step call sits: which run, flow, step and attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// The run's id.
    pub run_id: String,
    /// The flow's id.
    pub flow_id: String,
    /// The step's id.
    pub step_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The tenant that owns the run.
    pub tenant: String,
}

/// Why a plugin call failed, as the plugin itself reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "message")]
pub enum PluginError {
    /// Might succeed if tried again.
    #[error("transient error: {0}")]
    Transient(String),
    /// Will fail the same way again.
    #[error("permanent error: {0}")]
    Permanent(String),
    /// The config or input is wrong for this plugin.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// Tokens and cost of one model call.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Tokens in the prompt.
    pub input_tokens: u64,
    /// Tokens in the answer.
    pub output_tokens: u64,
    /// Cost in US dollars reported by the provider; 0 when unknown.
    #[serde(default)]
    pub cost_usd: f64,
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The message text.
    pub content: String,
}

/// A request for a model completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletionRequest {
    /// The model name.
    pub model: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Upper bound on tokens in the answer.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Provider-specific fields as JSON text.
    #[serde(default)]
    pub extra: Option<String>,
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The generated text.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Tokens and cost.
    pub usage: Usage,
    /// Why generation stopped.
    pub finish_reason: String,
}

/// Severity of a plugin's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected, worked around.
    Warn,
    /// Something failed.
    Error,
}

/// What a retry strategy is told about a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptInfo {
    /// The run's id.
    pub run_id: String,
    /// The flow's id.
    pub flow_id: String,
    /// The step that failed.
    pub step_id: String,
    /// The attempt that just failed, 1-based.
    pub attempt: u32,
    /// That attempt's error.
    pub error: PluginError,
    /// Milliseconds since the first attempt started.
    #[serde(default)]
    pub elapsed_ms: u64,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryDecision {
    /// Run again after this many milliseconds.
    RetryAfter(u64),
    /// Move the task to the dead-letter queue, with a reason.
    DeadLetter(String),
    /// Fail the run, with a reason.
    Fail(String),
}

/// A queued task a pool policy may admit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// The task's id.
    pub task_id: String,
    /// Its run.
    pub run_id: String,
    /// Its flow.
    pub flow_id: String,
    /// Its tenant.
    pub tenant: String,
    /// Higher first under `priority-fifo`.
    #[serde(default)]
    pub priority: i32,
    /// When it became ready, ms since the Unix epoch.
    pub ready_at_ms: u64,
}

/// Running tasks of one tenant in a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantLoad {
    /// The tenant.
    pub tenant: String,
    /// Its running tasks.
    pub active: u32,
}

/// The pool a policy decides for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolState {
    /// The pool's name.
    pub pool: String,
    /// Tasks running now.
    pub active: u32,
    /// The pool's `max_concurrent`.
    pub max_concurrent: u32,
    /// How many candidates may be admitted now.
    pub free_slots: u32,
    /// The host's clock, ms since the Unix epoch.
    pub now_ms: u64,
    /// Running tasks per tenant.
    #[serde(default)]
    pub active_by_tenant: Vec<TenantLoad>,
}
