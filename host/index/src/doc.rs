//! The documents the index holds: one per run and one per step outcome, built
//! from what the store has for the run at the time of indexing.

use weft_store_api::{RunRecord, Store, TaskRecord};

use crate::error::IndexError;
use crate::text::{json_text, summary_of, truncate};

/// A run as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDoc {
    /// The run id.
    pub run_id: String,
    /// Its flow.
    pub flow: String,
    /// Its tenant.
    pub tenant: String,
    /// Its status (`queued`, `running`, `succeeded`, `failed`, `cancelled`).
    pub status: String,
    /// When it was submitted (ms since the Unix epoch).
    pub created_ms: u64,
    /// When it last changed.
    pub updated_ms: u64,
    /// When it finished, if it has.
    pub finished_ms: Option<u64>,
    /// Searchable text of its input (cut to the configured size).
    pub input: String,
    /// Searchable text of its output (cut to the configured size).
    pub output: String,
    /// Its error and its steps' errors, one per line.
    pub errors: String,
    /// The plugin-provided summary: the output's `summary`, else the steps'.
    pub summary: String,
    /// Its step outcomes.
    pub steps: Vec<StepDoc>,
}

/// One step outcome (a task) of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct StepDoc {
    /// The step id.
    pub step_id: String,
    /// The task's state (`done`, `failed`, `dead`, `ready`, …).
    pub status: String,
    /// The attempt it is at.
    pub attempt: u32,
    /// Its last error.
    pub error: String,
    /// Searchable text of its output.
    pub output: String,
    /// The output's `summary` field, if any.
    pub summary: String,
}

impl RunDoc {
    /// The document of run `run_id` as the store has it now; `None` when the
    /// store has no such run. Texts are cut to `max_text_bytes` each.
    pub async fn from_store(
        store: &dyn Store,
        run_id: &str,
        max_text_bytes: usize,
    ) -> Result<Option<Self>, IndexError> {
        let Some(run) = store.run_get(run_id).await? else {
            return Ok(None);
        };
        let tasks = store.tasks_of(run_id).await?;
        let outputs = store.step_outputs(run_id).await?;
        Ok(Some(Self::build(&run, &tasks, &outputs, max_text_bytes)))
    }

    /// The document of `run` with its `tasks` and step `outputs`.
    pub fn build(
        run: &RunRecord,
        tasks: &[TaskRecord],
        outputs: &std::collections::BTreeMap<String, serde_json::Value>,
        max: usize,
    ) -> Self {
        let steps: Vec<StepDoc> = tasks
            .iter()
            .map(|t| {
                let out = outputs.get(&t.step_id);
                StepDoc {
                    step_id: t.step_id.clone(),
                    status: t.state.as_str().to_owned(),
                    attempt: t.attempt,
                    error: truncate(t.error.clone().unwrap_or_default(), max),
                    output: out.map(|o| json_text(o, max)).unwrap_or_default(),
                    summary: out
                        .and_then(summary_of)
                        .map(|s| truncate(s.to_owned(), max))
                        .unwrap_or_default(),
                }
            })
            .collect();
        let mut errors: Vec<&str> = run.error.iter().map(String::as_str).collect();
        errors.extend(
            steps
                .iter()
                .map(|s| s.error.as_str())
                .filter(|e| !e.is_empty()),
        );
        let summary = match run.output.as_ref().and_then(summary_of) {
            Some(s) => s.to_owned(),
            None => steps
                .iter()
                .map(|s| s.summary.as_str())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        };
        Self {
            run_id: run.id.clone(),
            flow: run.flow_id.clone(),
            tenant: run.tenant.clone(),
            status: run.status.as_str().to_owned(),
            created_ms: run.created_ms,
            updated_ms: run.updated_ms,
            finished_ms: run.status.is_final().then_some(run.updated_ms),
            input: json_text(&run.input, max),
            output: run
                .output
                .as_ref()
                .map(|o| json_text(o, max))
                .unwrap_or_default(),
            errors: truncate(errors.join("\n"), max),
            summary: truncate(summary, max),
            steps,
        }
    }
}
