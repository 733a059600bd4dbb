//! Cron schedules: registering them, firing them (the runs and the schedule's
//! new state in one transaction), manual triggers, pause and resume.
//!
//! A fire is only submitted when its time is after the schedule's
//! `last_fire_ms`, and `last_fire_ms` moves in the same transaction, so a fire
//! handled once is never submitted again by this path; its idempotency key
//! (`cron:<flow>:<time>`, given by the engine) guards it a second time.

use crate::db::OrDb;
use std::collections::BTreeSet;

use redb::ReadableTable;
use serde_json::json;

use crate::ops::common::bump;
use crate::ops::submit::{check_submit, create_run};
use crate::tables::{Tables, decode, encode};
use weft_store_api::StoreError;
use weft_store_api::{
    FiredRun, ScheduleFired, ScheduleId, ScheduleState, ScheduleTick, ScheduledRun,
};
use weft_store_api::{NewRun, Submitted};

/// Counter: runs created by schedules.
pub const SCHEDULE_FIRES: &str = "schedule_fires";

/// Loads a schedule's state.
fn get(t: &Tables<'_>, id: &ScheduleId) -> Result<Option<ScheduleState>, StoreError> {
    t.schedules
        .get((id.flow_id.as_str(), id.key.as_str()))
        .db()?
        .map(|g| decode(g.value()))
        .transpose()
}

/// Stores a schedule's state.
pub fn put(t: &mut Tables<'_>, state: &ScheduleState) -> Result<(), StoreError> {
    let key = (state.id.flow_id.as_str(), state.id.key.as_str());
    t.schedules.insert(key, encode(state)?.as_slice()).db()?;
    Ok(())
}

/// Checks a schedule id before anything is written.
fn check_id(id: &ScheduleId) -> Result<(), StoreError> {
    if id.flow_id.is_empty() || id.key.is_empty() {
        return Err(StoreError::Invalid(format!(
            "a schedule needs a flow id and a key (got flow {:?}, key {:?})",
            id.flow_id, id.key
        )));
    }
    Ok(())
}

/// The state of each schedule, registering (with `last_fire_ms = now`) those
/// the store has not seen yet. In the order of `ids`.
pub fn register(
    t: &mut Tables<'_>,
    ids: &[ScheduleId],
    now: u64,
) -> Result<Vec<ScheduleState>, StoreError> {
    ids.iter().try_for_each(check_id)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let state = match get(t, id)? {
            Some(state) => state,
            None => {
                let state = ScheduleState::new(id.clone(), now);
                put(t, &state)?;
                state
            }
        };
        out.push(state);
    }
    Ok(out)
}

/// Submits the fires of `tick` that are after the schedule's `last_fire_ms`
/// and moves `last_fire_ms` to at least `tick.handled_up_to`, in this one
/// transaction. A paused schedule fires nothing and keeps its state. An
/// unknown schedule is registered as if seen just before its first fire.
pub fn fire(
    t: &mut Tables<'_>,
    tick: &ScheduleTick,
    now: u64,
) -> Result<ScheduleFired, StoreError> {
    check_id(&tick.id)?;
    let first = tick.fires.iter().map(|f| f.fire_ms).min();
    let mut state = get(t, &tick.id)?.unwrap_or_else(|| {
        let mut state = ScheduleState::new(tick.id.clone(), now);
        state.last_fire_ms = first.unwrap_or(tick.handled_up_to).saturating_sub(1);
        state
    });
    if state.paused {
        return Ok(ScheduleFired {
            runs: Vec::new(),
            state,
        });
    }
    // Check every fire before writing anything (a refusal must not leave half
    // of the tick in a batch that commits).
    let mut due: Vec<&ScheduledRun> = tick
        .fires
        .iter()
        .filter(|f| f.fire_ms > state.last_fire_ms)
        .collect();
    due.sort_by_key(|f| f.fire_ms);
    let mut keys = BTreeSet::new();
    due.retain(|f| match &f.run.idempotency_key {
        Some((key, _)) => keys.insert(key.clone()),
        None => true,
    });
    let mut checked = Vec::with_capacity(due.len());
    for f in due {
        checked.push((f, check_submit(t, &f.run, now)?));
    }

    let mut runs = Vec::with_capacity(checked.len());
    for (f, existing) in checked {
        let (run_id, created) = match existing {
            Some(run_id) => (run_id, false),
            None => {
                let origin = origin(&tick.id, Some(f.fire_ms));
                (create_run(t, &f.run, now, Some(origin))?, true)
            }
        };
        runs.push(FiredRun {
            fire_ms: f.fire_ms,
            run_id,
            created,
        });
    }
    let created = runs.iter().filter(|r| r.created).count();
    let created = u64::try_from(created).unwrap_or(u64::MAX);
    if created > 0 {
        bump(t, SCHEDULE_FIRES, created)?;
    }
    let newest = runs.iter().map(|r| r.fire_ms).max().unwrap_or(0);
    state.last_fire_ms = state.last_fire_ms.max(tick.handled_up_to).max(newest);
    state.fires = state.fires.saturating_add(created);
    if let Some(last) = runs.last() {
        state.last_run = Some(last.run_id.clone());
    }
    state.updated_ms = now;
    put(t, &state)?;
    Ok(ScheduleFired { runs, state })
}

/// Submits a run of the schedule now, whatever its state (paused or not); its
/// `last_fire_ms` does not move. An unknown schedule is registered.
pub fn trigger(
    t: &mut Tables<'_>,
    id: &ScheduleId,
    run: &NewRun,
    now: u64,
) -> Result<Submitted, StoreError> {
    check_id(id)?;
    let existing = check_submit(t, run, now)?;
    let mut state = get(t, id)?.unwrap_or_else(|| ScheduleState::new(id.clone(), now));
    let submitted = match existing {
        Some(run_id) => Submitted {
            run_id,
            created: false,
        },
        None => {
            let run_id = create_run(t, run, now, Some(origin(id, None)))?;
            bump(t, SCHEDULE_FIRES, 1)?;
            state.fires = state.fires.saturating_add(1);
            Submitted {
                run_id,
                created: true,
            }
        }
    };
    state.last_run = Some(submitted.run_id.clone());
    state.updated_ms = now;
    put(t, &state)?;
    Ok(submitted)
}

/// Pauses or resumes a schedule (registering it if unknown). A resume moves
/// `last_fire_ms` to at least `now`: fires that fell while it was paused are
/// dropped, whatever its missed-fire policy.
pub fn set_paused(
    t: &mut Tables<'_>,
    id: &ScheduleId,
    paused: bool,
    now: u64,
) -> Result<ScheduleState, StoreError> {
    check_id(id)?;
    let mut state = get(t, id)?.unwrap_or_else(|| ScheduleState::new(id.clone(), now));
    if state.paused && !paused {
        state.last_fire_ms = state.last_fire_ms.max(now);
    }
    state.paused = paused;
    state.updated_ms = now;
    put(t, &state)?;
    Ok(state)
}

/// Removes the state of every schedule that is not in `keep` (schedules of
/// flows that are gone, entries whose cron line or place changed); returns
/// the ids removed, by flow id then key. The runs they fired stay.
pub fn retain(
    t: &mut Tables<'_>,
    keep: &BTreeSet<ScheduleId>,
) -> Result<Vec<ScheduleId>, StoreError> {
    let mut stale = Vec::new();
    for entry in t.schedules.iter().db()? {
        let (guard, _) = entry.db()?;
        let (flow_id, key) = guard.value();
        let id = ScheduleId::new(flow_id, key);
        if !keep.contains(&id) {
            stale.push(id);
        }
    }
    for id in &stale {
        t.schedules
            .remove((id.flow_id.as_str(), id.key.as_str()))
            .db()?;
    }
    Ok(stale)
}

/// The `origin` of a scheduled run's `run-created` event.
fn origin(id: &ScheduleId, fire_ms: Option<u64>) -> serde_json::Value {
    json!({
        "schedule": {"flow": id.flow_id, "key": id.key},
        "fire_ms": fire_ms,
        "manual": fire_ms.is_none(),
    })
}
