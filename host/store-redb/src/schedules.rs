//! [`Store`] methods for cron schedules (see `ops::schedule`).

use crate::ops::schedule;
use crate::read;
use crate::store::RedbStore;
use weft_store_api::{NewRun, Submitted};
use weft_store_api::{ScheduleFired, ScheduleId, ScheduleState, ScheduleTick};
use weft_store_api::{ScheduleStore, StoreError};

#[async_trait::async_trait]
impl ScheduleStore for RedbStore {
    async fn schedules_register(
        &self,
        ids: Vec<ScheduleId>,
        now: u64,
    ) -> Result<Vec<ScheduleState>, StoreError> {
        self.write(move |t| schedule::register(t, &ids, now)).await
    }

    async fn schedule_fire(
        &self,
        tick: ScheduleTick,
        now: u64,
    ) -> Result<ScheduleFired, StoreError> {
        self.write(move |t| schedule::fire(t, &tick, now)).await
    }

    async fn schedule_trigger(
        &self,
        id: ScheduleId,
        run: NewRun,
        now: u64,
    ) -> Result<Submitted, StoreError> {
        self.write(move |t| schedule::trigger(t, &id, &run, now))
            .await
    }

    async fn schedule_pause(&self, id: ScheduleId, now: u64) -> Result<ScheduleState, StoreError> {
        self.write(move |t| schedule::set_paused(t, &id, true, now))
            .await
    }

    async fn schedule_resume(&self, id: ScheduleId, now: u64) -> Result<ScheduleState, StoreError> {
        self.write(move |t| schedule::set_paused(t, &id, false, now))
            .await
    }

    async fn schedules_retain(&self, keep: Vec<ScheduleId>) -> Result<Vec<ScheduleId>, StoreError> {
        let keep: std::collections::BTreeSet<ScheduleId> = keep.into_iter().collect();
        self.write(move |t| schedule::retain(t, &keep)).await
    }

    async fn schedules_list(&self) -> Result<Vec<ScheduleState>, StoreError> {
        self.read(read::schedules_list)
    }

    async fn schedule_get(&self, id: &ScheduleId) -> Result<Option<ScheduleState>, StoreError> {
        self.read(|rt| read::schedule_get(rt, id))
    }
}
