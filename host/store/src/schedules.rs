//! [`Store`] methods for cron schedules (see `ops::schedule`).

use crate::error::StoreError;
use crate::ops::schedule;
use crate::read;
use crate::schedule_types::{ScheduleFired, ScheduleId, ScheduleState, ScheduleTick};
use crate::store::Store;
use crate::types::{NewRun, Submitted};

impl Store {
    /// The state of each schedule in `ids` (in that order), registering those
    /// seen for the first time with `last_fire_ms = now`: a new schedule fires
    /// only after it was registered. One transaction.
    pub async fn schedules_register(
        &self,
        ids: Vec<ScheduleId>,
        now: u64,
    ) -> Result<Vec<ScheduleState>, StoreError> {
        self.write(move |t| schedule::register(t, &ids, now)).await
    }

    /// In ONE transaction: submits each fire of `tick` whose time is after the
    /// schedule's `last_fire_ms` (with its run's idempotency key), moves
    /// `last_fire_ms` to at least `tick.handled_up_to`, and adds the runs
    /// created to the schedule's and the store's `schedule_fires` counts. A fire
    /// is therefore never submitted twice by this path and never lost between
    /// its run and the schedule's state. A paused schedule fires nothing.
    /// Every fire is checked before anything is written: one refused run (bad
    /// input, an idempotency conflict) refuses the whole tick.
    pub async fn schedule_fire(
        &self,
        tick: ScheduleTick,
        now: u64,
    ) -> Result<ScheduleFired, StoreError> {
        self.write(move |t| schedule::fire(t, &tick, now)).await
    }

    /// Submits `run` for the schedule now (a manual trigger), paused or not,
    /// and counts it as a fire; the schedule's `last_fire_ms` does not move.
    pub async fn schedule_trigger(
        &self,
        id: ScheduleId,
        run: NewRun,
        now: u64,
    ) -> Result<Submitted, StoreError> {
        self.write(move |t| schedule::trigger(t, &id, &run, now))
            .await
    }

    /// Pauses a schedule: it fires nothing until resumed (registers it if the
    /// store has not seen it yet).
    pub async fn schedule_pause(
        &self,
        id: ScheduleId,
        now: u64,
    ) -> Result<ScheduleState, StoreError> {
        self.write(move |t| schedule::set_paused(t, &id, true, now))
            .await
    }

    /// Resumes a schedule; its `last_fire_ms` becomes at least `now`, so fires
    /// that fell while it was paused are dropped, not caught up.
    pub async fn schedule_resume(
        &self,
        id: ScheduleId,
        now: u64,
    ) -> Result<ScheduleState, StoreError> {
        self.write(move |t| schedule::set_paused(t, &id, false, now))
            .await
    }

    /// Removes, in one transaction, the state of every schedule not in `keep`
    /// (the engine passes the schedules of the flows it loads, so the rows of
    /// flows that are gone do not stay forever); returns the ids removed.
    pub async fn schedules_retain(
        &self,
        keep: Vec<ScheduleId>,
    ) -> Result<Vec<ScheduleId>, StoreError> {
        let keep: std::collections::BTreeSet<ScheduleId> = keep.into_iter().collect();
        self.write(move |t| schedule::retain(t, &keep)).await
    }

    /// Every schedule the store knows, by flow id then key (including those of
    /// flows no longer loaded).
    pub fn schedules_list(&self) -> Result<Vec<ScheduleState>, StoreError> {
        self.read(read::schedules_list)
    }

    /// One schedule's state.
    pub fn schedule_get(&self, id: &ScheduleId) -> Result<Option<ScheduleState>, StoreError> {
        self.read(|rt| read::schedule_get(rt, id))
    }
}
