//! Writing a copied run, and what belongs to no run, into PostgreSQL, each in
//! the caller's transaction. Ledger events are stored exactly as exported.

use weft_store_api::{RunExport, StoreError, StoreExport};

use crate::conv::{i, i32w, to_text};
use crate::copy::export;
use crate::ops::common::{REDELIVERED, STALE_REFUSALS};
use crate::ops::lock::LOCK_COLS;
use crate::ops::records::{TASK_COLS, insert_run};
use crate::ops::schedule::{self, SCHEDULE_FIRES};
use crate::tx::Tx;

/// A ledger hash as stored (32 bytes) from its hex form.
fn hash_bytes(hex_hash: &str) -> Result<Vec<u8>, StoreError> {
    let bytes = hex::decode(hex_hash)
        .map_err(|e| StoreError::Invalid(format!("ledger hash {hex_hash:?}: {e}")))?;
    if bytes.len() != 32 {
        return Err(StoreError::Invalid(format!(
            "ledger hash {hex_hash:?} is not 32 bytes"
        )));
    }
    Ok(bytes)
}

/// Raises counter `name` to at least `value`.
async fn raise(t: &Tx<'_>, name: &str, value: u64) -> Result<(), StoreError> {
    t.exec(
        "INSERT INTO counters (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = GREATEST(counters.value, EXCLUDED.value)",
        &[&name, &i(value)],
    )
    .await?;
    Ok(())
}

/// Raises the task id sequence so its next id is above `last`.
async fn raise_task_ids(t: &Tx<'_>, last: u64) -> Result<(), StoreError> {
    if last == 0 {
        return Ok(());
    }
    t.rows(
        "SELECT setval('task_ids', GREATEST($1, \
         (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM task_ids)))",
        &[&i(last)],
    )
    .await?;
    Ok(())
}

/// Checks that `run`'s task ids and idempotency key are free here.
async fn check(t: &Tx<'_>, run: &RunExport) -> Result<(), StoreError> {
    let id = run.id();
    let ids: Vec<i64> = run.tasks.iter().map(|x| i(x.task.id)).collect();
    if let Some(r) = t
        .row("SELECT id FROM tasks WHERE id = ANY($1) LIMIT 1", &[&ids])
        .await?
    {
        return Err(StoreError::Invalid(format!(
            "task id {} of run {id} is already another run's task in the target",
            r.get::<_, i64>(0)
        )));
    }
    if let Some(task) = run.tasks.iter().find(|x| x.task.run_id != id) {
        return Err(StoreError::Invalid(format!(
            "task {} of run {id} names run {}",
            task.task.id, task.task.run_id
        )));
    }
    if let Some((key, _)) = &run.idempotency
        && let Some(r) = t
            .row("SELECT run_id FROM idempotency WHERE key = $1", &[key])
            .await?
        && r.get::<_, String>(0) != id
    {
        return Err(StoreError::Invalid(format!(
            "idempotency key {key:?} of run {id} names run {} in the target",
            r.get::<_, String>(0)
        )));
    }
    Ok(())
}

/// Writes one copied run; a run already here is a no-op if identical, else
/// refused.
pub(crate) async fn import_run(t: &Tx<'_>, run: &RunExport) -> Result<(), StoreError> {
    let id = run.id();
    if let Some(existing) = export::run(t, id).await? {
        return run.check_resumed(&existing);
    }
    check(t, run).await?;
    let head = run
        .head
        .as_ref()
        .map(|(seq, hash)| Ok::<_, StoreError>((i(*seq), hash_bytes(hash)?)))
        .transpose()?;
    insert_run(t, &run.run).await?;
    let placeholders: Vec<String> = (1..=15).map(|n| format!("${n}")).collect();
    let insert_task = format!(
        "INSERT INTO tasks ({TASK_COLS}) VALUES ({})",
        placeholders.join(", ")
    );
    for x in &run.tasks {
        let (task, lease) = (&x.task, x.lease.as_ref());
        t.exec(
            &insert_task,
            &[
                &i(task.id),
                &task.run_id,
                &task.step_id,
                &i32w(task.attempt),
                &task.pool,
                &i32w(task.priority),
                &i(task.ready_at),
                &task.state.as_str(),
                &i(task.last_token),
                &task.error,
                &task.tenant,
                &lease.map(|l| l.owner.as_str()),
                &lease.map(|l| i(l.token)),
                &lease.map(|l| i(l.expires_at)),
                &lease.map(|l| i(l.leased_at)),
            ],
        )
        .await?;
    }
    raise_task_ids(t, run.tasks.iter().map(|x| x.task.id).max().unwrap_or(0)).await?;
    for e in &run.events {
        t.exec(
            "INSERT INTO ledger (run_id, seq, time_ms, kind, payload, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &id,
                &i(e.seq),
                &i(e.time_ms),
                &e.kind,
                &to_text(&e.payload)?,
                &e.prev_hash,
                &e.hash,
            ],
        )
        .await?;
    }
    if let Some((seq, hash)) = head {
        t.exec(
            "INSERT INTO ledger_head (run_id, seq, hash) VALUES ($1, $2, $3)",
            &[&id, &seq, &hash],
        )
        .await?;
    }
    t.changed(id);
    for j in &run.journal {
        t.exec(
            "INSERT INTO journal (run_id, step_id, idx, value) VALUES ($1, $2, $3, $4)",
            &[&id, &j.step, &i64::from(j.index), &to_text(&j.value)?],
        )
        .await?;
    }
    for (step, value) in &run.outputs {
        t.exec(
            "INSERT INTO step_outputs (run_id, step_id, value) VALUES ($1, $2, $3)",
            &[&id, step, &to_text(value)?],
        )
        .await?;
    }
    for (key, value) in &run.artifacts {
        t.exec(
            "INSERT INTO artifacts (run_id, key, value) VALUES ($1, $2, $3)",
            &[&id, key, &to_text(value)?],
        )
        .await?;
    }
    for d in &run.dead_letters {
        t.exec(
            "INSERT INTO dead_letters (task_id, run_id, step_id, reason, time_ms) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&i(d.task), &d.run, &d.step, &d.reason, &i(d.time_ms)],
        )
        .await?;
    }
    if let Some((key, expires_at)) = &run.idempotency {
        t.exec(
            "INSERT INTO idempotency (key, run_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET run_id = EXCLUDED.run_id, \
             expires_at = EXCLUDED.expires_at",
            &[key, &id, &i(*expires_at)],
        )
        .await?;
    }
    Ok(())
}

/// Writes what belongs to no run: rows replace the target's of the same key;
/// sequences and counters only go up.
pub(crate) async fn import_rest(t: &Tx<'_>, rest: &StoreExport) -> Result<(), StoreError> {
    for stream in &rest.streams {
        let head = t
            .row(
                "SELECT hash FROM ledger_head WHERE run_id = $1",
                &[&stream.id],
            )
            .await?
            .map(|r| hex::encode(r.get::<_, Vec<u8>>(0)));
        let theirs = stream.events.last();
        match head {
            None => {}
            Some(ours) if theirs.is_some_and(|e| e.hash == ours) => continue,
            Some(_) => {
                return Err(StoreError::Invalid(format!(
                    "ledger stream {} already exists in the target with other events",
                    stream.id
                )));
            }
        }
        for e in &stream.events {
            t.exec(
                "INSERT INTO ledger (run_id, seq, time_ms, kind, payload, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &stream.id,
                    &i(e.seq),
                    &i(e.time_ms),
                    &e.kind,
                    &to_text(&e.payload)?,
                    &e.prev_hash,
                    &e.hash,
                ],
            )
            .await?;
        }
        if let Some(e) = theirs {
            t.exec(
                "INSERT INTO ledger_head (run_id, seq, hash) VALUES ($1, $2, $3)",
                &[&stream.id, &i(e.seq), &hash_bytes(&e.hash)?],
            )
            .await?;
        }
    }
    for s in &rest.schedules {
        schedule::put(t, s).await?;
    }
    for l in &rest.locks {
        t.exec(
            &format!(
                "INSERT INTO op_locks ({LOCK_COLS}) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (key) DO UPDATE SET owner = $2, token = $3, acquired_ms = $4, \
                 expires_ms = $5"
            ),
            &[
                &l.key,
                &l.owner,
                &i(l.token),
                &i(l.acquired_ms),
                &i(l.expires_ms),
            ],
        )
        .await?;
    }
    for r in &rest.cost_rows {
        t.exec(
            "INSERT INTO cost_detail (day, tenant, pool, model, calls, input_tokens, \
             output_tokens, micro_usd) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (day, tenant, pool, model) DO UPDATE SET calls = $5, \
             input_tokens = $6, output_tokens = $7, micro_usd = $8",
            &[
                &r.day,
                &r.tenant,
                &r.pool,
                &r.model,
                &i(r.calls),
                &i(r.input_tokens),
                &i(r.output_tokens),
                &i(r.micro_usd),
            ],
        )
        .await?;
    }
    for d in &rest.tenant_days {
        t.exec(
            "INSERT INTO cost_tenant_day (day, tenant, micro_usd) VALUES ($1, $2, $3) \
             ON CONFLICT (day, tenant) DO UPDATE SET micro_usd = $3",
            &[&d.day, &d.name, &i(d.micro_usd)],
        )
        .await?;
    }
    for d in &rest.pool_days {
        t.exec(
            "INSERT INTO cost_pool_day (day, pool, micro_usd) VALUES ($1, $2, $3) \
             ON CONFLICT (day, pool) DO UPDATE SET micro_usd = $3",
            &[&d.day, &d.name, &i(d.micro_usd)],
        )
        .await?;
    }
    for s in &rest.day_seqs {
        t.exec(
            "INSERT INTO day_seq (prefix, day, seq) VALUES ($1, $2, $3) \
             ON CONFLICT (prefix, day) DO UPDATE SET seq = GREATEST(day_seq.seq, $3)",
            &[&s.prefix, &s.day, &i(s.seq)],
        )
        .await?;
    }
    for (key, value) in &rest.overrides {
        t.exec(
            "INSERT INTO overrides (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[key, &serde_json::to_string(value)?],
        )
        .await?;
    }
    let c = &rest.counters;
    raise_task_ids(t, c.last_task_id).await?;
    raise(t, "lock_tokens", c.lock_tokens).await?;
    raise(t, STALE_REFUSALS, c.stale_refusals).await?;
    raise(t, REDELIVERED, c.redelivered).await?;
    raise(t, SCHEDULE_FIRES, c.schedule_fires).await?;
    Ok(())
}
