//! The live view `weft run` draws on a terminal: the flow's steps (in DAG
//! order) with their state and elapsed time under a header with the run's
//! progress bar, redrawn in place as events arrive and every fifth of a
//! second. Not on a terminal, or with `--json`, `weft run` prints one line per
//! event instead (see [`super::run_output::show`]).
//!
//! [`RunView`] is the pure part (events in, lines out, the clock given), so
//! that what it draws for a sequence of events can be tested; [`Live`] draws
//! it on stderr.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use weft_engine::{ProgressEvent, describe_decision};
use weft_flow::CompiledFlow;
use weft_store_api::{FailDecision, RunStatus};

use super::state::cut;

/// Cells of the progress bar.
const BAR: usize = 16;

/// How often the view is redrawn while nothing happens (elapsed times move).
const TICK: Duration = Duration::from_millis(200);

/// Where a step is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StepState {
    /// Not started (its needs have not all succeeded).
    Waiting,
    /// An attempt is running since `since_ms`.
    Running { since_ms: u64 },
    /// An attempt failed and another comes (`note`: the error and when).
    Retrying { note: String },
    /// Succeeded, its last attempt in `elapsed_ms`.
    Succeeded { elapsed_ms: u64 },
    /// Failed for good: the run fails.
    Failed { note: String },
    /// Failed for good: dead-lettered, waiting for an operator.
    DeadLettered { note: String },
    /// Not run: its condition said so, or a need did not succeed.
    Skipped { reason: String },
}

/// One step's row.
#[derive(Debug, Clone)]
struct StepRow {
    id: String,
    state: StepState,
    /// The attempt last started (0: none yet).
    attempt: u32,
    /// The last model call of the running attempt, e.g. `mock 12+9 tokens`.
    model: Option<String>,
}

/// What the view shows of a run: the steps and the run's state. Times are ms
/// on the caller's clock.
#[derive(Debug, Clone)]
pub(crate) struct RunView {
    run: String,
    flow: String,
    started_ms: u64,
    steps: Vec<StepRow>,
    finished: Option<(RunStatus, u64)>,
}

impl RunView {
    /// The view of run `run` of `flow`, started at `now_ms`: every step waiting.
    pub(crate) fn new(run: &str, flow: &CompiledFlow, now_ms: u64) -> Self {
        let steps = flow
            .steps
            .iter()
            .map(|s| StepRow {
                id: s.id.clone(),
                state: StepState::Waiting,
                attempt: 0,
                model: None,
            })
            .collect();
        Self {
            run: run.to_owned(),
            flow: flow.id.clone(),
            started_ms: now_ms,
            steps,
            finished: None,
        }
    }

    fn row(&mut self, step: &str) -> &mut StepRow {
        if let Some(i) = self.steps.iter().position(|r| r.id == step) {
            return &mut self.steps[i];
        }
        // A step the flow did not list (a newer version of it): shown last.
        self.steps.push(StepRow {
            id: step.to_owned(),
            state: StepState::Waiting,
            attempt: 0,
            model: None,
        });
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }

    /// Takes `event` into account; it happened at `now_ms`.
    pub(crate) fn apply(&mut self, event: &ProgressEvent, now_ms: u64) {
        match event {
            ProgressEvent::StepStarted { step, attempt, .. } => {
                let row = self.row(step);
                row.state = StepState::Running { since_ms: now_ms };
                row.attempt = *attempt;
                row.model = None;
            }
            ProgressEvent::StepSucceeded {
                step,
                attempt,
                elapsed_ms,
                ..
            } => {
                let row = self.row(step);
                row.state = StepState::Succeeded {
                    elapsed_ms: *elapsed_ms,
                };
                row.attempt = *attempt;
            }
            ProgressEvent::StepFailed {
                step,
                attempt,
                error,
                decision,
                time_ms,
                ..
            } => {
                let row = self.row(step);
                row.attempt = *attempt;
                row.state = match decision {
                    FailDecision::DeadLetter { .. } => StepState::DeadLettered {
                        note: error.clone(),
                    },
                    FailDecision::FailRun { .. } | FailDecision::FailStep { .. } => {
                        StepState::Failed {
                            note: error.clone(),
                        }
                    }
                    FailDecision::Retry { .. } => StepState::Retrying {
                        note: format!(
                            "attempt {attempt} failed: {error}; {}",
                            describe_decision(decision, *time_ms)
                        ),
                    },
                };
            }
            ProgressEvent::StepSkipped { step, reason, .. } => {
                self.row(step).state = StepState::Skipped {
                    reason: reason.clone(),
                };
            }
            ProgressEvent::ModelCalled {
                step,
                model,
                from_journal,
                input_tokens,
                output_tokens,
                ..
            } => {
                let row = self.row(step);
                row.model = Some(if *from_journal {
                    format!("{model}, from the journal")
                } else {
                    format!("{model} {input_tokens}+{output_tokens} tokens")
                });
            }
            ProgressEvent::RunFinished { status, .. } => {
                self.finished = Some((*status, now_ms));
            }
        }
    }

    /// Marks the run finished with `status` at `now_ms`, unless an event did.
    pub(crate) fn finish(&mut self, status: RunStatus, now_ms: u64) {
        if self.finished.is_none() {
            self.finished = Some((status, now_ms));
        }
    }

    /// The lines to draw at `now_ms`, each at most `width` characters.
    pub(crate) fn render(&self, now_ms: u64, width: usize) -> Vec<String> {
        let end = self.finished.map_or(now_ms, |(_, at)| at);
        let total = self.steps.len();
        let done = self
            .steps
            .iter()
            .filter(|r| {
                matches!(
                    r.state,
                    StepState::Succeeded { .. } | StepState::Skipped { .. }
                )
            })
            .count();
        // Most important first: a narrow terminal cuts the end.
        let mut header = format!("run {} ({})", self.run, self.flow);
        if let Some((status, _)) = self.finished {
            // A run with a dead-lettered step stays running: it waits.
            let dead = self
                .steps
                .iter()
                .any(|r| matches!(r.state, StepState::DeadLettered { .. }));
            if status == RunStatus::Running && dead {
                header.push_str(" dead-lettered");
            } else {
                header.push_str(&format!(" {status}"));
            }
        }
        header.push_str(&format!(
            "  {}",
            elapsed(end.saturating_sub(self.started_ms))
        ));
        if total > 1 {
            let filled = done * BAR / total;
            header.push_str(&format!(
                "  [{}{}] {done}/{total} steps",
                "\u{2588}".repeat(filled),
                "\u{2591}".repeat(BAR - filled)
            ));
        }
        let id_width = self.steps.iter().map(|r| r.id.chars().count()).max();
        let id_width = id_width.unwrap_or(0);
        let mut lines = vec![header];
        for row in &self.steps {
            let (symbol, text) = self.describe(row, now_ms);
            lines.push(format!("  {symbol} {:<id_width$}  {text}", row.id));
        }
        // Cut, not wrapped: the redraw moves up exactly the lines it drew.
        lines.into_iter().map(|l| cut(&l, width)).collect()
    }

    /// A row's symbol and text at `now_ms`.
    fn describe(&self, row: &StepRow, now_ms: u64) -> (char, String) {
        let attempt = if row.attempt > 1 {
            format!(" (attempt {})", row.attempt)
        } else {
            String::new()
        };
        match &row.state {
            StepState::Waiting if self.finished.is_some() => ('\u{b7}', "not run".to_owned()),
            StepState::Waiting => ('\u{b7}', "waiting".to_owned()),
            StepState::Running { since_ms } => {
                let model = row
                    .model
                    .as_ref()
                    .map(|m| format!(", model {m}"))
                    .unwrap_or_default();
                let ran = elapsed(now_ms.saturating_sub(*since_ms));
                ('\u{25b6}', format!("running {ran}{attempt}{model}"))
            }
            StepState::Retrying { note } => ('\u{21bb}', format!("retrying: {note}")),
            StepState::Succeeded { elapsed_ms } => {
                ('\u{2714}', format!("{}{attempt}", elapsed(*elapsed_ms)))
            }
            StepState::Failed { note } => ('\u{2718}', format!("failed{attempt}: {note}")),
            StepState::DeadLettered { note } => {
                ('\u{2718}', format!("dead-lettered{attempt}: {note}"))
            }
            StepState::Skipped { reason } => ('\u{2013}', format!("skipped: {reason}")),
        }
    }
}

/// `ms` for people: `340 ms`, `1.2s`, `2m05s`.
fn elapsed(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// The view drawn on stderr, redrawn in place.
pub(crate) struct Live {
    state: Mutex<LiveState>,
    clock: Instant,
}

struct LiveState {
    view: RunView,
    /// Lines drawn last time (0: nothing drawn yet).
    drawn: usize,
}

impl Live {
    /// The live view of run `run` of `flow`; nothing is drawn before its
    /// first event.
    pub(crate) fn new(run: &str, flow: &CompiledFlow) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(LiveState {
                view: RunView::new(run, flow, 0),
                drawn: 0,
            }),
            clock: Instant::now(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Takes `event` into account and redraws.
    pub(crate) fn event(&self, event: &ProgressEvent) {
        let now = self.now_ms();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.view.apply(event, now);
        draw(&mut state, now);
    }

    /// Redraws every [`TICK`] until the returned task is aborted.
    pub(crate) fn tick(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let live = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            loop {
                every.tick().await;
                let now = live.now_ms();
                let mut state = live.state.lock().unwrap_or_else(PoisonError::into_inner);
                if state.drawn > 0 {
                    draw(&mut state, now);
                }
            }
        })
    }

    /// The last frame: the run ended with `status`. Nothing is drawn when no
    /// event came (the run had finished before: an idempotency key's).
    pub(crate) fn finish(&self, status: RunStatus) {
        let now = self.now_ms();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.view.finish(status, now);
        if state.drawn > 0 {
            draw(&mut state, now);
        }
    }
}

/// Moves up over the last frame, clears it and draws the view at `now`.
fn draw(state: &mut LiveState, now: u64) {
    let lines = state.view.render(now, terminal_width());
    let mut frame = String::new();
    if state.drawn > 0 {
        // Cursor to the start of the first line drawn, then clear below.
        frame.push_str(&format!("\x1b[{}F\x1b[J", state.drawn));
    }
    for line in &lines {
        frame.push_str(line);
        frame.push('\n');
    }
    let mut stderr = std::io::stderr().lock();
    // A terminal that went away leaves nothing to draw on.
    let _ = stderr.write_all(frame.as_bytes());
    let _ = stderr.flush();
    state.drawn = lines.len();
}

/// Columns of the terminal on stderr (80 when it cannot say).
fn terminal_width() -> usize {
    rustix::termios::tcgetwinsize(std::io::stderr())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&w| w > 0)
        .unwrap_or(80)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use weft_engine::{ProgressEvent, describe_decision};
    use weft_flow::{CompiledFlow, CompiledStep, Location};
    use weft_store_api::{FailDecision, RunStatus};

    use super::{RunView, cut, elapsed};

    fn flow(steps: &[&str]) -> CompiledFlow {
        CompiledFlow {
            id: "demo".into(),
            version: 1,
            description: None,
            file: "flows/demo.yaml".into(),
            id_location: Location {
                file: "flows/demo.yaml".into(),
                line: 1,
                column: 5,
            },
            inputs: Vec::new(),
            steps: steps
                .iter()
                .map(|id| CompiledStep {
                    id: (*id).into(),
                    uses: "echo".into(),
                    with: serde_json::Value::Null,
                    needs: Vec::new(),
                    dependents: Vec::new(),
                    condition: None,
                    timeout: Duration::from_secs(30),
                    retry: None,
                    pool: None,
                    model: None,
                    max_model_calls: weft_flow::DEFAULT_MAX_MODEL_CALLS,
                    max_tool_calls: weft_flow::DEFAULT_MAX_TOOL_CALLS,
                })
                .collect(),
            schedules: Vec::new(),
            id_prefix: "demo".into(),
            plugin_uses: Vec::new(),
        }
    }

    fn started(step: &str, attempt: u32) -> ProgressEvent {
        ProgressEvent::StepStarted {
            run: "r-1".into(),
            flow: "demo".into(),
            step: step.into(),
            attempt,
        }
    }

    fn succeeded(step: &str, attempt: u32, elapsed_ms: u64) -> ProgressEvent {
        ProgressEvent::StepSucceeded {
            run: "r-1".into(),
            flow: "demo".into(),
            step: step.into(),
            attempt,
            elapsed_ms,
        }
    }

    fn failed(step: &str, error: &str, decision: FailDecision, time_ms: u64) -> ProgressEvent {
        ProgressEvent::StepFailed {
            run: "r-1".into(),
            flow: "demo".into(),
            step: step.into(),
            attempt: 1,
            error: error.into(),
            decision,
            time_ms,
        }
    }

    #[test]
    fn the_view_follows_the_events_of_a_multi_step_run() {
        let mut view = RunView::new("r-1", &flow(&["fetch", "classify", "store"]), 0);
        assert_eq!(
            view.render(0, 200),
            [
                "run r-1 (demo)  0 ms  [░░░░░░░░░░░░░░░░] 0/3 steps",
                "  · fetch     waiting",
                "  · classify  waiting",
                "  · store     waiting",
            ]
        );
        view.apply(&started("fetch", 1), 10);
        view.apply(
            &ProgressEvent::ModelCalled {
                run: "r-1".into(),
                step: "fetch".into(),
                call_index: 0,
                from_journal: false,
                model: "mock".into(),
                input_tokens: 12,
                output_tokens: 9,
            },
            300,
        );
        assert_eq!(
            view.render(1510, 200)[1],
            "  ▶ fetch     running 1.5s, model mock 12+9 tokens"
        );
        view.apply(&succeeded("fetch", 1, 1600), 1610);
        view.apply(&started("classify", 1), 1620);
        let retry = FailDecision::Retry { at_ms: 5000 };
        let retry_words = describe_decision(&retry, 1700);
        assert!(
            retry_words.starts_with("retry in 3.3s at "),
            "{retry_words}"
        );
        view.apply(&failed("classify", "timeout", retry, 1700), 1700);
        assert_eq!(
            view.render(1800, 200),
            [
                "run r-1 (demo)  1.8s  [█████░░░░░░░░░░░] 1/3 steps".to_owned(),
                "  ✔ fetch     1.6s".to_owned(),
                format!("  ↻ classify  retrying: attempt 1 failed: timeout; {retry_words}"),
                "  · store     waiting".to_owned(),
            ]
        );
        view.apply(&started("classify", 2), 5000);
        view.apply(&succeeded("classify", 2, 40), 5040);
        view.apply(&started("store", 1), 5050);
        view.apply(&succeeded("store", 1, 7), 5057);
        view.apply(
            &ProgressEvent::RunFinished {
                run: "r-1".into(),
                flow: "demo".into(),
                status: RunStatus::Succeeded,
                duration_ms: 60,
            },
            5060,
        );
        // Finished: the clock stops at the run's end.
        assert_eq!(
            view.render(9000, 200),
            [
                "run r-1 (demo) succeeded  5.0s  [████████████████] 3/3 steps",
                "  ✔ fetch     1.6s",
                "  ✔ classify  40 ms (attempt 2)",
                "  ✔ store     7 ms",
            ]
        );
    }

    #[test]
    fn a_failed_run_shows_the_step_that_failed_and_those_not_run() {
        let mut view = RunView::new("r-1", &flow(&["a", "b"]), 0);
        view.apply(&started("a", 1), 0);
        view.apply(
            &failed(
                "a",
                "boom",
                FailDecision::DeadLetter {
                    reason: "permanent error".into(),
                },
                65_000,
            ),
            65_000,
        );
        view.finish(RunStatus::Running, 65_000);
        assert_eq!(
            view.render(70_000, 200),
            [
                "run r-1 (demo) dead-lettered  1m05s  [░░░░░░░░░░░░░░░░] 0/2 steps",
                "  ✘ a  dead-lettered: boom",
                "  · b  not run",
            ]
        );
    }

    #[test]
    fn a_one_step_run_has_no_bar_and_long_lines_are_cut() {
        let mut view = RunView::new("r-1", &flow(&["only"]), 0);
        view.apply(&started("only", 1), 0);
        view.apply(
            &failed(
                "only",
                "a very long error message",
                FailDecision::FailRun {
                    reason: "no retry".into(),
                },
                0,
            ),
            20,
        );
        let lines = view.render(20, 30);
        assert_eq!(lines[0], "run r-1 (demo)  20 ms");
        view.finish(RunStatus::Failed, 20);
        assert_eq!(view.render(20, 30)[0], "run r-1 (demo) failed  20 ms");
        assert_eq!(lines[1], "  ✘ only  failed: a very long…");
        assert_eq!(lines[1].chars().count(), 30);
        assert_eq!(cut("short", 30), "short");
        assert_eq!(elapsed(999), "999 ms");
        assert_eq!(elapsed(61_000), "1m01s");
    }
}
