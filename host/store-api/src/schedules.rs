//! The records and arguments of cron schedules (`schedules` table).
//!
//! The store does not read cron lines: the engine works out which fires are
//! due and hands them over; the store submits them and advances the
//! schedule's state in one transaction.

use serde::{Deserialize, Serialize};

use crate::types::NewRun;

/// A schedule as the store knows it: its flow and a key that stays the same as
/// long as the schedule does (the engine's choice, e.g. index, cron line and
/// time zone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScheduleId {
    /// The flow whose `schedule:` entry it is.
    pub flow_id: String,
    /// Stable key of the entry within the flow.
    pub key: String,
}

impl ScheduleId {
    /// A schedule id.
    pub fn new(flow_id: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            flow_id: flow_id.into(),
            key: key.into(),
        }
    }
}

/// A schedule's state as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// Which schedule.
    pub id: ScheduleId,
    /// The newest fire time (ms) handled: fired, or dropped as missed. When the
    /// schedule is first registered, the time of registration; on resume, at
    /// least the time of the resume. Fires are only ever due after it.
    pub last_fire_ms: u64,
    /// Paused schedules do not fire (a manual trigger still does).
    pub paused: bool,
    /// Runs this schedule has created (fires and triggers).
    pub fires: u64,
    /// The last run it created.
    pub last_run: Option<String>,
    /// When it was registered (ms).
    pub created_ms: u64,
    /// When its state last changed (ms).
    pub updated_ms: u64,
}

impl ScheduleState {
    /// A fresh state: nothing handled before `now`, not paused.
    pub fn new(id: ScheduleId, now: u64) -> Self {
        Self {
            id,
            last_fire_ms: now,
            paused: false,
            fires: 0,
            last_run: None,
            created_ms: now,
            updated_ms: now,
        }
    }
}

/// One fire of a schedule to submit.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledRun {
    /// The fire time (ms); ignored (not submitted) unless after the schedule's
    /// `last_fire_ms`.
    pub fire_ms: u64,
    /// The run; its idempotency key should name the fire (`cron:<flow>:<time>`).
    pub run: NewRun,
}

/// What one tick decided for one schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleTick {
    /// Which schedule.
    pub id: ScheduleId,
    /// The fires to submit, oldest first.
    pub fires: Vec<ScheduledRun>,
    /// The newest fire time the tick handled (fired or dropped); the schedule's
    /// `last_fire_ms` becomes at least this.
    pub handled_up_to: u64,
}

/// One run a schedule fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredRun {
    /// The fire time (ms).
    pub fire_ms: u64,
    /// The run (the existing one when its idempotency key was already used).
    pub run_id: String,
    /// False when the idempotency key already named a run.
    pub created: bool,
}

/// The answer to `schedule_fire`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleFired {
    /// The fires submitted, oldest first; empty when the schedule is paused or
    /// every fire was at or before its `last_fire_ms`.
    pub runs: Vec<FiredRun>,
    /// The schedule's state after the tick.
    pub state: ScheduleState,
}
