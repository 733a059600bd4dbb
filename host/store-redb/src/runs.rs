//! [`RunStore`] on redb: submitting, cancelling and reading runs.

use std::collections::BTreeMap;

use redb::{ReadableTable, ReadableTableMetadata};
use serde_json::Value;
use weft_store_api::{
    LeaseRecord, NewRun, RunEvents, RunFilter, RunRecord, RunStore, StoreError, StrictPool,
    Submitted, TaskRecord,
};

use crate::db::OrDb;
use crate::ops::{finish, idempotency, misc, submit};
use crate::store::RedbStore;
use crate::{read, run_events, tables};

#[async_trait::async_trait]
impl RunStore for RedbStore {
    async fn submit_run_capped(
        &self,
        new: NewRun,
        strict: &[StrictPool],
        now: u64,
    ) -> Result<Submitted, StoreError> {
        let strict = strict.to_vec();
        self.write(move |t| submit::submit_run(t, &new, &strict, now))
            .await
    }

    async fn cancel(&self, run: &str, reason: Option<&str>, now: u64) -> Result<(), StoreError> {
        let run = run.to_owned();
        let reason = weft_store_api::cancel_reason(reason);
        self.write(move |t| finish::cancel(t, &run, reason.clone(), now))
            .await
    }

    async fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.read(|rt| read::run_get(rt, id))
    }

    async fn runs_list(
        &self,
        limit: usize,
        filter: &RunFilter,
    ) -> Result<Vec<RunRecord>, StoreError> {
        self.read(|rt| read::runs_list(rt, limit, filter))
    }

    async fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::RUNS_BY_TIME).db()?;
            let mut out = Vec::new();
            for entry in table.iter().db()? {
                out.push(entry.db()?.0.value().1.to_owned());
            }
            Ok(out)
        })
    }

    async fn task_get(&self, id: u64) -> Result<Option<TaskRecord>, StoreError> {
        self.read(|rt| read::task_get(rt, id))
    }

    async fn tasks_of(&self, run: &str) -> Result<Vec<TaskRecord>, StoreError> {
        self.read(|rt| read::tasks_of(rt, run))
    }

    async fn lease_of(&self, task: u64) -> Result<Option<LeaseRecord>, StoreError> {
        self.read(|rt| read::lease_of(rt, task))
    }

    async fn step_outputs(&self, run: &str) -> Result<BTreeMap<String, Value>, StoreError> {
        self.read(|rt| read::step_outputs(rt, run))
    }

    async fn run_events(&self, run: &str, after: u64) -> Result<Option<RunEvents>, StoreError> {
        self.read(|rt| run_events::run_events(rt, run, after))
    }

    async fn artifact_put(
        &self,
        run: &str,
        key: &str,
        value: Value,
        now: u64,
    ) -> Result<(), StoreError> {
        let (run, key) = (run.to_owned(), key.to_owned());
        self.write(move |t| misc::artifact_put(t, &run, &key, &value, now))
            .await
    }

    async fn artifact_get(&self, run: &str, key: &str) -> Result<Option<Value>, StoreError> {
        self.read(|rt| read::artifact_get(rt, run, key))
    }

    async fn artifact_list(&self, run: &str) -> Result<Vec<String>, StoreError> {
        self.read(|rt| read::artifact_list(rt, run))
    }

    async fn idempotency_get(&self, key: &str) -> Result<Option<(String, u64)>, StoreError> {
        self.read(|rt| {
            let table = rt.open_table(tables::IDEMPOTENCY).db()?;
            Ok(table.get(key).db()?.map(|g| {
                let (run, expires_at) = g.value();
                (run.to_owned(), expires_at)
            }))
        })
    }

    async fn idempotency_count(&self) -> Result<u64, StoreError> {
        self.read(|rt| rt.open_table(tables::IDEMPOTENCY).db()?.len().db())
    }

    async fn purge_idempotency(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        self.write(move |t| idempotency::purge_expired(t, now, limit))
            .await
    }
}
