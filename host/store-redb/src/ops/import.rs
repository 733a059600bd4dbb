//! Writing a copied run, and what belongs to no run, into a redb store
//! (`CopyStore::import_run`, `import_rest`). Ledger events are stored exactly
//! as exported; every index a run's records live in is written with them.

use redb::ReadableTable;
use weft_store_api::{RunExport, StoreError, StoreExport, TaskState};

use crate::db::OrDb;
use crate::ledger::record_change;
use crate::ops::common::{NEXT_TASK_ID, REDELIVERED, STALE_REFUSALS, put_run, put_task};
use crate::ops::lock::LOCK_TOKENS;
use crate::ops::schedule::SCHEDULE_FIRES;
use crate::ops::{idempotency, lock, pool_leases, ready_index, schedule};
use crate::tables::{Tables, encode};

/// A ledger hash as stored (32 bytes) from its hex form.
fn hash_bytes(hex_hash: &str) -> Result<[u8; 32], StoreError> {
    let bytes = hex::decode(hex_hash)
        .map_err(|e| StoreError::Invalid(format!("ledger hash {hex_hash:?}: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Invalid(format!("ledger hash {hex_hash:?} is not 32 bytes")))
}

/// Raises counter `name` to at least `value`.
fn raise(t: &mut Tables<'_>, name: &str, value: u64) -> Result<(), StoreError> {
    let now = t.counters.get(name).db()?.map_or(0, |g| g.value());
    if value > now {
        t.counters.insert(name, value).db()?;
    }
    Ok(())
}

/// Checks that `run` can be written: its id and task ids are new here, its
/// idempotency key names no other run, its head is a valid hash.
fn check(t: &Tables<'_>, run: &RunExport) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let id = run.id();
    if t.runs.get(id).db()?.is_some() {
        return Err(StoreError::Invalid(format!(
            "run {id} already exists in the target with other contents"
        )));
    }
    for task in &run.tasks {
        if task.task.run_id != id {
            return Err(StoreError::Invalid(format!(
                "task {} of run {id} names run {}",
                task.task.id, task.task.run_id
            )));
        }
        if t.tasks.get(task.task.id).db()?.is_some() {
            return Err(StoreError::Invalid(format!(
                "task id {} of run {id} is already another run's task in the target",
                task.task.id
            )));
        }
    }
    if let Some((key, _)) = &run.idempotency
        && let Some(g) = t.idempotency.get(key.as_str()).db()?
        && g.value().0 != id
    {
        return Err(StoreError::Invalid(format!(
            "idempotency key {key:?} of run {id} names run {} in the target",
            g.value().0
        )));
    }
    run.head
        .as_ref()
        .map(|(seq, hash)| Ok((*seq, hash_bytes(hash)?)))
        .transpose()
}

/// Writes one copied run (refused if its id already exists: the caller
/// compares an existing run with the export first).
pub fn import_run(t: &mut Tables<'_>, run: &RunExport) -> Result<(), StoreError> {
    let head = check(t, run)?;
    let id = run.id();
    put_run(t, &run.run)?;
    t.runs_by_time.insert((run.run.created_ms, id), ()).db()?;
    if run.run.cost.calls > 0 || run.run.cost.micro_usd > 0 {
        t.run_cost
            .insert(id, (run.run.cost.calls, run.run.cost.micro_usd))
            .db()?;
    }
    let mut last_task = 0;
    for export in &run.tasks {
        let mut task = export.task.clone();
        last_task = last_task.max(task.id);
        t.run_tasks.insert((id, task.id), ()).db()?;
        match (task.state, &export.lease) {
            (TaskState::Ready, _) => ready_index::insert(t, &mut task)?,
            (TaskState::Delayed, _) => {
                t.delayed.insert((task.ready_at, task.id), ()).db()?;
            }
            (TaskState::Leased, Some(lease)) => {
                t.leases.insert(task.id, encode(lease)?.as_slice()).db()?;
                t.lease_expiry
                    .insert((lease.expires_at, task.id), ())
                    .db()?;
                pool_leases::insert(t, &task.pool, task.id)?;
            }
            (TaskState::Leased, None) => {
                return Err(StoreError::Invalid(format!(
                    "task {} of run {id} is leased but has no lease",
                    task.id
                )));
            }
            _ => {}
        }
        put_task(t, &task)?;
    }
    raise(t, NEXT_TASK_ID, last_task)?;
    for event in &run.events {
        t.ledger
            .insert((id, event.seq), encode(event)?.as_slice())
            .db()?;
    }
    if let Some(head) = head {
        t.ledger_head.insert(id, head).db()?;
    }
    record_change(t, id)?;
    for entry in &run.journal {
        let text = serde_json::to_string(&entry.value)?;
        t.journal
            .insert((id, entry.step.as_str(), entry.index), text.as_str())
            .db()?;
    }
    for (step, value) in &run.outputs {
        let text = serde_json::to_string(value)?;
        t.step_outputs
            .insert((id, step.as_str()), text.as_str())
            .db()?;
    }
    for (key, value) in &run.artifacts {
        let text = serde_json::to_string(value)?;
        t.artifacts.insert((id, key.as_str()), text.as_str()).db()?;
    }
    for letter in &run.dead_letters {
        t.dead_letters
            .insert(letter.task, encode(letter)?.as_slice())
            .db()?;
    }
    if let Some((key, expires_at)) = &run.idempotency {
        idempotency::put(t, key, id, *expires_at)?;
    }
    Ok(())
}

/// Writes what belongs to no run: rows replace the target's of the same key;
/// sequences and counters only go up.
pub fn import_rest(t: &mut Tables<'_>, rest: &StoreExport) -> Result<(), StoreError> {
    for stream in &rest.streams {
        let head = t
            .ledger_head
            .get(stream.id.as_str())
            .db()?
            .map(|g| g.value());
        let theirs = match stream.events.last() {
            Some(e) => Some((e.seq, hash_bytes(&e.hash)?)),
            None => None,
        };
        match head {
            None => {}
            Some(ours) if Some(ours) == theirs => continue,
            Some(_) => {
                return Err(StoreError::Invalid(format!(
                    "ledger stream {} already exists in the target with other events",
                    stream.id
                )));
            }
        }
        for event in &stream.events {
            t.ledger
                .insert((stream.id.as_str(), event.seq), encode(event)?.as_slice())
                .db()?;
        }
        if let Some(theirs) = theirs {
            t.ledger_head.insert(stream.id.as_str(), theirs).db()?;
        }
    }
    for state in &rest.schedules {
        schedule::put(t, state)?;
    }
    for held in &rest.locks {
        if let Some(old) = lock::get(t, &held.key)? {
            lock::remove(t, &old)?;
        }
        lock::put(t, held)?;
    }
    for row in &rest.cost_rows {
        let key = (
            row.day.as_str(),
            row.tenant.as_str(),
            row.pool.as_str(),
            row.model.as_str(),
        );
        let value = (
            row.calls,
            row.input_tokens,
            row.output_tokens,
            row.micro_usd,
        );
        t.cost_detail.insert(key, value).db()?;
    }
    for d in &rest.tenant_days {
        let key = (d.day.as_str(), d.name.as_str());
        t.cost_tenant_day.insert(key, d.micro_usd).db()?;
    }
    for d in &rest.pool_days {
        let key = (d.day.as_str(), d.name.as_str());
        t.cost_pool_day.insert(key, d.micro_usd).db()?;
    }
    for s in &rest.day_seqs {
        let key = (s.prefix.as_str(), s.day.as_str());
        let now = t.day_seq.get(key).db()?.map_or(0, |g| g.value());
        t.day_seq.insert(key, now.max(s.seq)).db()?;
    }
    for (key, value) in &rest.overrides {
        t.overrides
            .insert(key.as_str(), encode(value)?.as_slice())
            .db()?;
    }
    let c = &rest.counters;
    raise(t, NEXT_TASK_ID, c.last_task_id)?;
    raise(t, LOCK_TOKENS, c.lock_tokens)?;
    raise(t, STALE_REFUSALS, c.stale_refusals)?;
    raise(t, REDELIVERED, c.redelivered)?;
    raise(t, SCHEDULE_FIRES, c.schedule_fires)?;
    Ok(())
}
