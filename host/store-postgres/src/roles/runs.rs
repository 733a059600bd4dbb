//! [`RunStore`] on PostgreSQL.

use std::collections::BTreeMap;

use serde_json::Value;
use weft_store_api::{
    LeaseRecord, NewRun, RunEvents, RunFilter, RunRecord, RunStore, StoreError, StrictPool,
    Submitted, TaskRecord,
};

use crate::conv::{from_text, i, lim, u};
use crate::ops::records::{TASK_COLS, task_from};
use crate::ops::{finish, misc, submit};
use crate::reads;
use crate::store::PgStore;
use crate::tx::{read_tx, write_tx};

#[async_trait::async_trait]
impl RunStore for PgStore {
    async fn submit_run_capped(
        &self,
        new: NewRun,
        strict: &[StrictPool],
        now: u64,
    ) -> Result<Submitted, StoreError> {
        weft_store_api::check_prefix(&new.id_prefix)?;
        let date = weft_store_api::utc_date(now);
        let seq = self.next_run_seq(&new.id_prefix, &date).await?;
        write_tx!(self, t => submit::submit_run(&t, &new, strict, seq, now).await)
    }

    async fn cancel(&self, run: &str, reason: Option<&str>, now: u64) -> Result<(), StoreError> {
        let reason = weft_store_api::cancel_reason(reason);
        write_tx!(self, t => finish::cancel(&t, run, &reason, now).await)
    }

    async fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        read_tx!(self, t => reads::run_get(&t, id).await)
    }

    async fn runs_list(
        &self,
        limit: usize,
        filter: &RunFilter,
    ) -> Result<Vec<RunRecord>, StoreError> {
        read_tx!(self, t => reads::runs_list(&t, limit, filter).await)
    }

    async fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        read_tx!(self, t => {
            let rows = t.rows("SELECT id FROM runs ORDER BY created_ms, id", &[]).await?;
            Ok::<_, StoreError>(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    async fn task_get(&self, id: u64) -> Result<Option<TaskRecord>, StoreError> {
        read_tx!(self, t => {
            let row = t.row(&format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1"), &[&i(id)]).await?;
            row.map(|r| task_from(&r).map(|(task, _)| task)).transpose()
        })
    }

    async fn tasks_of(&self, run: &str) -> Result<Vec<TaskRecord>, StoreError> {
        read_tx!(self, t => {
            let rows = t
                .rows(&format!("SELECT {TASK_COLS} FROM tasks WHERE run_id = $1 ORDER BY id"), &[&run])
                .await?;
            rows.iter().map(|r| task_from(r).map(|(task, _)| task)).collect()
        })
    }

    async fn lease_of(&self, task: u64) -> Result<Option<LeaseRecord>, StoreError> {
        read_tx!(self, t => {
            let row = t.row(&format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1"), &[&i(task)]).await?;
            Ok::<_, StoreError>(match row {
                Some(r) => task_from(&r)?.1,
                None => None,
            })
        })
    }

    async fn step_outputs(&self, run: &str) -> Result<BTreeMap<String, Value>, StoreError> {
        read_tx!(self, t => reads::step_outputs(&t, run).await)
    }

    async fn run_events(&self, run: &str, after: u64) -> Result<Option<RunEvents>, StoreError> {
        read_tx!(self, t => reads::run_events(&t, run, after).await)
    }

    async fn artifact_put(
        &self,
        run: &str,
        key: &str,
        value: Value,
        now: u64,
    ) -> Result<(), StoreError> {
        write_tx!(self, t => misc::artifact_put(&t, run, key, &value, now).await)
    }

    async fn artifact_get(&self, run: &str, key: &str) -> Result<Option<Value>, StoreError> {
        read_tx!(self, t => {
            let row = t
                .row("SELECT value FROM artifacts WHERE run_id = $1 AND key = $2", &[&run, &key])
                .await?;
            row.map(|r| from_text(r.get(0))).transpose()
        })
    }

    async fn artifact_list(&self, run: &str) -> Result<Vec<String>, StoreError> {
        read_tx!(self, t => {
            let rows = t
                .rows("SELECT key FROM artifacts WHERE run_id = $1 ORDER BY key", &[&run])
                .await?;
            Ok::<_, StoreError>(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    async fn idempotency_get(&self, key: &str) -> Result<Option<(String, u64)>, StoreError> {
        read_tx!(self, t => {
            let row = t
                .row("SELECT run_id, expires_at FROM idempotency WHERE key = $1", &[&key])
                .await?;
            Ok::<_, StoreError>(row.map(|r| (r.get(0), u(r.get(1)))))
        })
    }

    async fn idempotency_count(&self) -> Result<u64, StoreError> {
        read_tx!(self, t => {
            let row = t.row("SELECT count(*) FROM idempotency", &[]).await?;
            Ok::<_, StoreError>(row.map_or(0, |r| u(r.get(0))))
        })
    }

    async fn purge_idempotency(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        write_tx!(self, t => {
            let n = t
                .exec(
                    "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency \
                     WHERE expires_at <= $1 ORDER BY expires_at, key LIMIT $2 FOR UPDATE SKIP LOCKED)",
                    &[&i(now), &lim(limit)],
                )
                .await?;
            Ok::<_, StoreError>(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}
