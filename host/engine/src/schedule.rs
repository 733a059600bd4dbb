//! Cron schedules: the `schedule:` entries of the loaded flows fire runs.
//!
//! [`Engine::tick_schedules`] looks at every schedule at the clock's `now`,
//! works out its due fires (`schedule_plan::plan`) and hands them to the store,
//! which submits them and advances the schedule's last fire in one
//! transaction. [`Engine::start_scheduler`] calls it whenever a fire is due;
//! tests on a `ManualClock` call it themselves. Semantics (first start,
//! missed fires, pause, DST, idempotency keys): `docs/flows.md`, "Schedules".

use std::collections::HashMap;

use weft_flow::{CompiledFlow, Missed, Schedule};
use weft_store_api::{ScheduleId, ScheduleState, ScheduleTick, ScheduledRun};

use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::schedule_plan::{
    CRON_KEY_TTL_MS, MISSED_GRACE_MS, fire_key, manual_key, next_fire_after, plan, schedule_key,
};
use crate::shared::Inner;

/// One run a schedule fired (or a trigger submitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The flow.
    pub flow: String,
    /// The index of the entry in the flow's `schedule:` list.
    pub index: usize,
    /// The fire time (ms); for a manual trigger, the time of the trigger.
    pub fire_ms: u64,
    /// The idempotency key it was submitted with.
    pub idempotency_key: String,
    /// The run.
    pub run_id: String,
    /// False when the idempotency key already named a run (nothing new).
    pub created: bool,
}

/// A schedule of a loaded flow, with its stored state.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleInfo {
    /// The flow.
    pub flow: String,
    /// The index of the entry in the flow's `schedule:` list.
    pub index: usize,
    /// Its key in the store (see `schedule_key`).
    pub key: String,
    /// The cron line as written.
    pub cron: String,
    /// Its IANA time zone.
    pub timezone: String,
    /// Its missed-fire policy.
    pub missed: Missed,
    /// Its state; `None` until the first tick registers it.
    pub state: Option<ScheduleState>,
    /// Its next fire (ms): after its last handled fire, or after now when not
    /// registered yet; `None` when paused or when the line never fires again.
    pub next_fire_ms: Option<u64>,
}

/// A schedule of a loaded flow.
struct Loaded<'a> {
    flow: &'a CompiledFlow,
    index: usize,
    schedule: &'a Schedule,
    id: ScheduleId,
}

/// Every schedule of every flow of `catalog`, by flow id then index.
fn loaded_schedules(catalog: &Catalog) -> Vec<Loaded<'_>> {
    catalog
        .flows()
        .into_iter()
        .map(|flow| &**flow)
        .flat_map(|flow| {
            flow.schedules
                .iter()
                .enumerate()
                .map(move |(index, schedule)| Loaded {
                    flow,
                    index,
                    schedule,
                    id: ScheduleId::new(&flow.id, schedule_key(index, schedule)),
                })
        })
        .collect()
}

/// The store ids of every schedule of every flow of `catalog`.
pub(crate) fn loaded_schedule_ids(catalog: &Catalog) -> Vec<ScheduleId> {
    loaded_schedules(catalog)
        .into_iter()
        .map(|l| l.id)
        .collect()
}

impl Inner {
    /// The stored state of every schedule, by id.
    async fn schedule_states(&self) -> Result<HashMap<ScheduleId, ScheduleState>, EngineError> {
        Ok(self
            .store
            .schedules_list()
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect())
    }
}

impl Engine {
    /// Fires every schedule that is due at the clock's now, and returns the
    /// runs fired, by flow id, entry and fire time.
    ///
    /// A schedule seen for the first time is registered with its last fire at
    /// now: it fires from its next fire on, never for times before (no
    /// backfill). A paused schedule is left alone. For the others, the fires
    /// after the last handled one up to now are due; those at most
    /// [`MISSED_GRACE_MS`] late fire, older ones are missed and the entry's
    /// `missed:` policy applies (`skip` drops them, `catch-up: N` fires the
    /// most recent N, oldest first). The runs and the schedule's new last fire
    /// are committed together, with the idempotency key `cron:<flow>:<fire
    /// time>` ([`crate::fire_key`]): no tick, restart or clock step back fires
    /// a time twice.
    ///
    /// A schedule that fails (its input no longer fits the flow, the store
    /// refuses) does not stop the others; the first such error is returned
    /// after every schedule was handled, and the failed schedule is tried again
    /// at the next tick.
    pub async fn tick_schedules(&self) -> Result<Vec<Fired>, EngineError> {
        let inner = &self.inner;
        let now = inner.now();
        let catalog = inner.catalog();
        let loaded = loaded_schedules(&catalog);
        let mut states = inner.schedule_states().await?;
        let unknown: Vec<ScheduleId> = loaded
            .iter()
            .filter(|l| !states.contains_key(&l.id))
            .map(|l| l.id.clone())
            .collect();
        if !unknown.is_empty() {
            for state in inner.store.schedules_register(unknown, now).await? {
                states.insert(state.id.clone(), state);
            }
        }
        let mut fired = Vec::new();
        let mut first_error = None;
        for l in &loaded {
            let Some(state) = states.get(&l.id).filter(|s| !s.paused) else {
                continue;
            };
            match self.fire_due(l, state.last_fire_ms, now).await {
                Ok(runs) => fired.extend(runs),
                Err(e) => {
                    tracing::error!(flow = %l.flow.id, index = l.index, "schedule did not fire: {e}");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(fired),
        }
    }

    /// Submits the due fires of one schedule (see [`Engine::tick_schedules`]).
    async fn fire_due(
        &self,
        l: &Loaded<'_>,
        last: u64,
        now: u64,
    ) -> Result<Vec<Fired>, EngineError> {
        let Some(plan) = plan(l.schedule, last, now, MISSED_GRACE_MS) else {
            return Ok(Vec::new());
        };
        if plan.fires.is_empty() {
            tracing::info!(
                flow = %l.flow.id, index = l.index,
                "missed fires up to {} dropped (`missed: skip`)", plan.handled_up_to
            );
        }
        let mut fires = Vec::with_capacity(plan.fires.len());
        for &fire_ms in &plan.fires {
            let key = fire_key(&l.flow.id, l.index, fire_ms);
            let run = self.new_run(
                l.flow,
                l.schedule.input.clone(),
                Some((key, CRON_KEY_TTL_MS)),
            )?;
            fires.push(ScheduledRun { fire_ms, run });
        }
        let tick = ScheduleTick {
            id: l.id.clone(),
            fires,
            handled_up_to: plan.handled_up_to,
        };
        let done = self.inner.store.schedule_fire(tick, now).await?;
        let roots = l.flow.initial_steps().count();
        let fired: Vec<Fired> = done
            .runs
            .into_iter()
            .map(|r| Fired {
                flow: l.flow.id.clone(),
                index: l.index,
                fire_ms: r.fire_ms,
                idempotency_key: fire_key(&l.flow.id, l.index, r.fire_ms),
                run_id: r.run_id,
                created: r.created,
            })
            .collect();
        self.inner
            .lifecycle
            .scheduled(roots * fired.iter().filter(|f| f.created).count());
        Ok(fired)
    }

    /// When the next tick is due (ms): the earliest next fire of a schedule
    /// that is not paused, or now when a schedule is not registered yet (the
    /// tick registers it). `None` when no schedule will fire again. A time at
    /// or before now means a tick is overdue.
    pub async fn next_fire(&self) -> Result<Option<u64>, EngineError> {
        let inner = &self.inner;
        let now = inner.now();
        let states = inner.schedule_states().await?;
        let mut next: Option<u64> = None;
        for l in loaded_schedules(&inner.catalog()) {
            let due = match states.get(&l.id) {
                None => Some(now),
                Some(s) if s.paused => None,
                Some(s) => next_fire_after(l.schedule, s.last_fire_ms),
            };
            next = match (next, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(next)
    }

    /// Every schedule of the loaded flows with its state and next fire, by flow
    /// id then index. (`Store::schedules_list` also has the states of
    /// schedules no loaded flow has any more.)
    pub async fn schedules_list(&self) -> Result<Vec<ScheduleInfo>, EngineError> {
        let inner = &self.inner;
        let now = inner.now();
        let mut states = inner.schedule_states().await?;
        Ok(loaded_schedules(&inner.catalog())
            .into_iter()
            .map(|l| {
                let state = states.remove(&l.id);
                let next_fire_ms = match &state {
                    Some(s) if s.paused => None,
                    Some(s) => next_fire_after(l.schedule, s.last_fire_ms),
                    None => next_fire_after(l.schedule, now),
                };
                ScheduleInfo {
                    flow: l.flow.id.clone(),
                    index: l.index,
                    key: l.id.key,
                    cron: l.schedule.cron.clone(),
                    timezone: l.schedule.timezone.name().to_owned(),
                    missed: l.schedule.missed,
                    state,
                    next_fire_ms,
                }
            })
            .collect())
    }

    /// Pauses schedule `index` of `flow`: it fires nothing until resumed.
    pub async fn schedules_pause(
        &self,
        flow: &str,
        index: usize,
    ) -> Result<ScheduleState, EngineError> {
        let (_, _, id) = self.find_schedule(&self.inner.catalog(), flow, index)?;
        Ok(self
            .inner
            .store
            .schedule_pause(id, self.inner.now())
            .await?)
    }

    /// Resumes schedule `index` of `flow`. Fires that fell while it was paused
    /// are dropped, whatever its `missed:` policy: it fires from its next fire
    /// after now on.
    pub async fn schedules_resume(
        &self,
        flow: &str,
        index: usize,
    ) -> Result<ScheduleState, EngineError> {
        let (_, _, id) = self.find_schedule(&self.inner.catalog(), flow, index)?;
        let state = self
            .inner
            .store
            .schedule_resume(id, self.inner.now())
            .await?;
        self.inner.wakeups.schedules_changed();
        Ok(state)
    }

    /// Fires schedule `index` of `flow` now, with its input, whether paused or
    /// not, with the idempotency key `cron:<flow>:manual:<now>` (RFC 3339 UTC
    /// with milliseconds, [`crate::manual_key`]). Its regular fires are not
    /// affected.
    pub async fn schedules_trigger(&self, flow: &str, index: usize) -> Result<Fired, EngineError> {
        let catalog = self.inner.catalog();
        let (compiled, schedule, id) = self.find_schedule(&catalog, flow, index)?;
        let now = self.inner.now();
        let key = manual_key(flow, index, now);
        let run = self.new_run(
            compiled,
            schedule.input.clone(),
            Some((key.clone(), CRON_KEY_TTL_MS)),
        )?;
        let submitted = self.inner.store.schedule_trigger(id, run, now).await?;
        if submitted.created {
            self.inner
                .lifecycle
                .scheduled(compiled.initial_steps().count());
        }
        Ok(Fired {
            flow: flow.to_owned(),
            index,
            fire_ms: now,
            idempotency_key: key,
            run_id: submitted.run_id,
            created: submitted.created,
        })
    }

    /// The flow, its schedule `index` and the schedule's store id.
    fn find_schedule<'a>(
        &self,
        catalog: &'a Catalog,
        flow: &str,
        index: usize,
    ) -> Result<(&'a CompiledFlow, &'a Schedule, ScheduleId), EngineError> {
        let compiled = catalog
            .flow(flow)
            .ok_or_else(|| EngineError::UnknownFlow(flow.to_owned()))?;
        let schedule =
            compiled
                .schedules
                .get(index)
                .ok_or_else(|| EngineError::UnknownSchedule {
                    flow: flow.to_owned(),
                    index,
                    count: compiled.schedules.len(),
                })?;
        let id = ScheduleId::new(flow, schedule_key(index, schedule));
        Ok((compiled, schedule, id))
    }
}
