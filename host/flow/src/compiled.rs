//! Stage 3: the compiled flow the engine runs.

use std::time::Duration;

use serde_json::Value as Json;

use crate::common::RetryPolicy;
use crate::condition::Condition;
use crate::diagnostic::Location;
use crate::inputs::{self, InputError, InputSpec};
use crate::plugin_use::PluginUse;
use crate::schedule::Schedule;

/// A validated flow: steps in topological order with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFlow {
    /// The flow's id.
    pub id: String,
    /// The flow's version (default 1).
    pub version: u32,
    /// What the flow does.
    pub description: Option<String>,
    /// The file it was read from, as named by the caller.
    pub file: String,
    /// Where its `id` is written.
    pub id_location: Location,
    /// Declared inputs, in file order.
    pub inputs: Vec<InputSpec>,
    /// Steps, each after every step it needs (file order among equals).
    pub steps: Vec<CompiledStep>,
    /// Cron schedules.
    pub schedules: Vec<Schedule>,
    /// The prefix of its run ids: its own `id_prefix:` (written out, or taken
    /// from its file's path), else weft.yaml's (likewise).
    pub id_prefix: String,
    /// Every place the flow names a plugin, for the caller to load and check the
    /// component's actual kind.
    pub plugin_uses: Vec<PluginUse>,
}

/// One step, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledStep {
    /// The step's id.
    pub id: String,
    /// The step plugin it runs.
    pub uses: String,
    /// Its input, with `${{ }}` templates still in it; see [`crate::render`].
    pub with: Json,
    /// Steps it needs, as written.
    pub needs: Vec<String>,
    /// Steps that need it, in file order.
    pub dependents: Vec<String>,
    /// Its `if:`, if it has one; [`CompiledFlow::decide`] applies it (and the
    /// rule for steps without one).
    pub condition: Option<Condition>,
    /// Its deadline per attempt.
    pub timeout: Duration,
    /// Its retry policy: the step's, the flow's or `weft.yaml`'s `retry:`, else
    /// `exp-backoff` with no overrides when `weft.yaml` declares it as a retry
    /// plugin (see [`ProjectConfig::default_retry`]). `None`: a failed attempt
    /// fails the run.
    ///
    /// [`ProjectConfig::default_retry`]: crate::ProjectConfig::default_retry
    pub retry: Option<RetryPolicy>,
    /// Its pool, a name under `pools:` in weft.yaml (always set when compiled
    /// against a project: its own, its model's, the flow's, weft.yaml's, or
    /// `default`).
    pub pool: Option<String>,
    /// The model its host calls are routed to, if any.
    pub model: Option<String>,
    /// The most model calls one attempt may make (`max_model_calls:`, default
    /// [`DEFAULT_MAX_MODEL_CALLS`]); each tool it runs may make as many of
    /// its own. The call past it fails the attempt.
    pub max_model_calls: u32,
    /// The most tool calls one attempt may make (`max_tool_calls:`, default
    /// [`DEFAULT_MAX_TOOL_CALLS`]). The call past it fails the attempt.
    pub max_tool_calls: u32,
}

/// A step's `max_model_calls` when it sets none.
pub const DEFAULT_MAX_MODEL_CALLS: u32 = 100;
/// A step's `max_tool_calls` when it sets none.
pub const DEFAULT_MAX_TOOL_CALLS: u32 = 100;
/// The highest `max_model_calls` / `max_tool_calls` a step may set.
pub const MAX_CALLS_CAP: i64 = 100_000;

impl CompiledFlow {
    /// The step with id `id`.
    pub fn step(&self, id: &str) -> Option<&CompiledStep> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Steps that need nothing: where a run starts.
    pub fn initial_steps(&self) -> impl Iterator<Item = &CompiledStep> {
        self.steps.iter().filter(|s| s.needs.is_empty())
    }

    /// Steps that nothing needs: where a run ends.
    pub fn final_steps(&self) -> impl Iterator<Item = &CompiledStep> {
        self.steps.iter().filter(|s| s.dependents.is_empty())
    }

    /// Check a run's input against `inputs:`: apply defaults, reject missing
    /// required inputs, wrong types and unknown names. `null` counts as `{}`.
    pub fn check_input(&self, input: &Json) -> Result<Json, InputError> {
        inputs::check(&self.inputs, input)
    }
}
