//! Cron schedules (as redb's `ops::schedule`): a fire's runs and the
//! schedule's new state in one transaction, under the schedule's row lock.

use std::collections::BTreeSet;

use serde_json::json;
use tokio_postgres::Row;
use weft_store_api::{
    FiredRun, NewRun, ScheduleFired, ScheduleId, ScheduleState, ScheduleTick, ScheduledRun,
    StoreError, Submitted,
};

use crate::conv::{i, u};
use crate::ops::common::bump;
use crate::ops::submit::{check_submit, create_run};
use crate::tx::Tx;

/// Counter: runs created by schedules.
pub(crate) const SCHEDULE_FIRES: &str = "schedule_fires";

/// The columns [`state_from`] reads.
pub(crate) const SCHEDULE_COLS: &str =
    "flow_id, key, last_fire_ms, paused, fires, last_run, created_ms, updated_ms";

/// A schedule's state from a row of [`SCHEDULE_COLS`].
pub(crate) fn state_from(r: &Row) -> ScheduleState {
    ScheduleState {
        id: ScheduleId::new(r.get::<_, String>(0), r.get::<_, String>(1)),
        last_fire_ms: u(r.get(2)),
        paused: r.get(3),
        fires: u(r.get(4)),
        last_run: r.get(5),
        created_ms: u(r.get(6)),
        updated_ms: u(r.get(7)),
    }
}

/// A schedule's state, its row locked.
async fn get(t: &Tx<'_>, id: &ScheduleId) -> Result<Option<ScheduleState>, StoreError> {
    Ok(t.row(
        &format!(
            "SELECT {SCHEDULE_COLS} FROM schedules WHERE flow_id = $1 AND key = $2 FOR UPDATE"
        ),
        &[&id.flow_id, &id.key],
    )
    .await?
    .map(|r| state_from(&r)))
}

/// Stores a schedule's state.
pub(crate) async fn put(t: &Tx<'_>, s: &ScheduleState) -> Result<(), StoreError> {
    t.exec(
        &format!(
            "INSERT INTO schedules ({SCHEDULE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (flow_id, key) DO UPDATE SET last_fire_ms = $3, paused = $4, fires = $5, \
             last_run = $6, updated_ms = $8"
        ),
        &[
            &s.id.flow_id,
            &s.id.key,
            &i(s.last_fire_ms),
            &s.paused,
            &i(s.fires),
            &s.last_run,
            &i(s.created_ms),
            &i(s.updated_ms),
        ],
    )
    .await?;
    Ok(())
}

fn check_id(id: &ScheduleId) -> Result<(), StoreError> {
    if id.flow_id.is_empty() || id.key.is_empty() {
        return Err(StoreError::Invalid(format!(
            "a schedule needs a flow id and a key (got flow {:?}, key {:?})",
            id.flow_id, id.key
        )));
    }
    Ok(())
}

/// The state of each schedule, registering those not seen yet.
pub(crate) async fn register(
    t: &Tx<'_>,
    ids: &[ScheduleId],
    now: u64,
) -> Result<Vec<ScheduleState>, StoreError> {
    ids.iter().try_for_each(check_id)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let state = match get(t, id).await? {
            Some(state) => state,
            None => {
                let state = ScheduleState::new(id.clone(), now);
                t.exec(
                    &format!(
                        "INSERT INTO schedules ({SCHEDULE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ),
                    &[
                        &state.id.flow_id,
                        &state.id.key,
                        &i(state.last_fire_ms),
                        &state.paused,
                        &i(state.fires),
                        &state.last_run,
                        &i(state.created_ms),
                        &i(state.updated_ms),
                    ],
                )
                .await?;
                state
            }
        };
        out.push(state);
    }
    Ok(out)
}

/// Submits the due fires of `tick` and advances the schedule (see
/// `ScheduleStore::schedule_fire`).
pub(crate) async fn fire(
    t: &Tx<'_>,
    tick: &ScheduleTick,
    now: u64,
) -> Result<ScheduleFired, StoreError> {
    check_id(&tick.id)?;
    let first = tick.fires.iter().map(|f| f.fire_ms).min();
    let mut state = get(t, &tick.id).await?.unwrap_or_else(|| {
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
        checked.push((f, check_submit(t, &f.run, now).await?));
    }
    let mut runs = Vec::with_capacity(checked.len());
    for (f, existing) in checked {
        let (run_id, created) = match existing {
            Some(run_id) => (run_id, false),
            None => {
                let origin = origin(&tick.id, Some(f.fire_ms));
                (create_run(t, &f.run, now, Some(origin), None).await?, true)
            }
        };
        runs.push(FiredRun {
            fire_ms: f.fire_ms,
            run_id,
            created,
        });
    }
    let created = u64::try_from(runs.iter().filter(|r| r.created).count()).unwrap_or(u64::MAX);
    if created > 0 {
        bump(t, SCHEDULE_FIRES, created).await?;
    }
    let newest = runs.iter().map(|r| r.fire_ms).max().unwrap_or(0);
    state.last_fire_ms = state.last_fire_ms.max(tick.handled_up_to).max(newest);
    state.fires = state.fires.saturating_add(created);
    if let Some(last) = runs.last() {
        state.last_run = Some(last.run_id.clone());
    }
    state.updated_ms = now;
    put(t, &state).await?;
    Ok(ScheduleFired { runs, state })
}

/// Submits a run of the schedule now, paused or not; `last_fire_ms` stays.
pub(crate) async fn trigger(
    t: &Tx<'_>,
    id: &ScheduleId,
    run: &NewRun,
    now: u64,
) -> Result<Submitted, StoreError> {
    check_id(id)?;
    let existing = check_submit(t, run, now).await?;
    let mut state = get(t, id)
        .await?
        .unwrap_or_else(|| ScheduleState::new(id.clone(), now));
    let submitted = match existing {
        Some(run_id) => Submitted {
            run_id,
            created: false,
        },
        None => {
            let run_id = create_run(t, run, now, Some(origin(id, None)), None).await?;
            bump(t, SCHEDULE_FIRES, 1).await?;
            state.fires = state.fires.saturating_add(1);
            Submitted {
                run_id,
                created: true,
            }
        }
    };
    state.last_run = Some(submitted.run_id.clone());
    state.updated_ms = now;
    put(t, &state).await?;
    Ok(submitted)
}

/// Pauses or resumes a schedule (registering it if unknown).
pub(crate) async fn set_paused(
    t: &Tx<'_>,
    id: &ScheduleId,
    paused: bool,
    now: u64,
) -> Result<ScheduleState, StoreError> {
    check_id(id)?;
    let mut state = get(t, id)
        .await?
        .unwrap_or_else(|| ScheduleState::new(id.clone(), now));
    if state.paused && !paused {
        state.last_fire_ms = state.last_fire_ms.max(now);
    }
    state.paused = paused;
    state.updated_ms = now;
    put(t, &state).await?;
    Ok(state)
}

/// Removes every schedule state not in `keep`; returns the ids removed.
pub(crate) async fn retain(
    t: &Tx<'_>,
    keep: &BTreeSet<ScheduleId>,
) -> Result<Vec<ScheduleId>, StoreError> {
    let rows = t
        .rows(
            "SELECT flow_id, key FROM schedules ORDER BY flow_id, key FOR UPDATE",
            &[],
        )
        .await?;
    let mut stale = Vec::new();
    for r in &rows {
        let id = ScheduleId::new(r.get::<_, String>(0), r.get::<_, String>(1));
        if !keep.contains(&id) {
            stale.push(id);
        }
    }
    for id in &stale {
        t.exec(
            "DELETE FROM schedules WHERE flow_id = $1 AND key = $2",
            &[&id.flow_id, &id.key],
        )
        .await?;
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
