//! [`ScheduleStore`]: the state of cron schedules.

use crate::error::StoreError;
use crate::schedules::{ScheduleFired, ScheduleId, ScheduleState, ScheduleTick};
use crate::types::{NewRun, Submitted};

/// A fire's run is submitted and its schedule advanced in one transaction, so
/// a fire is never submitted twice and never lost between its run and the
/// schedule's state.
#[async_trait::async_trait]
pub trait ScheduleStore: Send + Sync {
    /// The state of each schedule in `ids` (in that order), registering those
    /// seen for the first time with `last_fire_ms = now`: a new schedule fires
    /// only after it was registered. One transaction.
    async fn schedules_register(
        &self,
        ids: Vec<ScheduleId>,
        now: u64,
    ) -> Result<Vec<ScheduleState>, StoreError>;

    /// In one transaction: submits each fire of `tick` whose time is after the
    /// schedule's `last_fire_ms` (with its run's idempotency key), moves
    /// `last_fire_ms` to at least `tick.handled_up_to`, and counts the runs
    /// created. A paused schedule fires nothing. Every fire is checked before
    /// anything is written: one refused run refuses the whole tick.
    async fn schedule_fire(
        &self,
        tick: ScheduleTick,
        now: u64,
    ) -> Result<ScheduleFired, StoreError>;

    /// Submits `run` for the schedule now (a manual trigger), paused or not,
    /// and counts it as a fire; the schedule's `last_fire_ms` does not move.
    async fn schedule_trigger(
        &self,
        id: ScheduleId,
        run: NewRun,
        now: u64,
    ) -> Result<Submitted, StoreError>;

    /// Pauses a schedule: it fires nothing until resumed (registers it if the
    /// store has not seen it yet).
    async fn schedule_pause(&self, id: ScheduleId, now: u64) -> Result<ScheduleState, StoreError>;

    /// Resumes a schedule; its `last_fire_ms` becomes at least `now`, so fires
    /// that fell while it was paused are dropped, not caught up.
    async fn schedule_resume(&self, id: ScheduleId, now: u64) -> Result<ScheduleState, StoreError>;

    /// Removes the state of every schedule not in `keep` (the schedules of
    /// the flows loaded); returns the ids removed.
    async fn schedules_retain(&self, keep: Vec<ScheduleId>) -> Result<Vec<ScheduleId>, StoreError>;

    /// Every schedule the store knows, by flow id then key (including those of
    /// flows no longer loaded).
    async fn schedules_list(&self) -> Result<Vec<ScheduleState>, StoreError>;

    /// One schedule's state.
    async fn schedule_get(&self, id: &ScheduleId) -> Result<Option<ScheduleState>, StoreError>;
}
