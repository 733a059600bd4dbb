//! [`LedgerStore`], [`LockStore`], [`ScheduleStore`] and [`ChangeFeed`] on
//! PostgreSQL.

use std::collections::BTreeSet;

use serde_json::Value;
use weft_store_api::{
    Change, ChangeFeed, HeadSignature, LedgerEvent, LedgerStore, LockAcquire, LockRecord,
    LockStore, NewRun, Override, ScheduleFired, ScheduleId, ScheduleState, ScheduleStore,
    ScheduleTick, StoreError, Submitted, Swap, ToolCall, VerifyReport,
};

use crate::conv::{from_text, i, lim, u};
use crate::feed;
use crate::ops::lock::{self, LOCK_COLS, lock_from};
use crate::ops::misc;
use crate::ops::schedule::{self, SCHEDULE_COLS, state_from};
use crate::reads;
use crate::store::PgStore;
use crate::tx::{read_tx, write_tx};

#[async_trait::async_trait]
impl LedgerStore for PgStore {
    async fn ledger(&self, run: &str) -> Result<Vec<LedgerEvent>, StoreError> {
        read_tx!(self, t => reads::ledger(&t, run).await)
    }

    async fn verify(&self, run: &str) -> Result<VerifyReport, StoreError> {
        read_tx!(self, t => reads::verify(&t, run).await)
    }

    async fn journal_put(
        &self,
        run: &str,
        step: &str,
        index: u32,
        value: Value,
        now: u64,
    ) -> Result<bool, StoreError> {
        write_tx!(self, t => misc::journal_put(&t, run, step, index, &value, now).await)
    }

    async fn journal_get(
        &self,
        run: &str,
        step: &str,
        index: u32,
    ) -> Result<Option<Value>, StoreError> {
        read_tx!(self, t => {
            let row = t
                .row(
                    "SELECT value FROM journal WHERE run_id = $1 AND step_id = $2 AND idx = $3",
                    &[&run, &step, &i64::from(index)],
                )
                .await?;
            row.map(|r| from_text(r.get(0))).transpose()
        })
    }

    async fn tool_called(&self, run: &str, call: ToolCall, now: u64) -> Result<(), StoreError> {
        write_tx!(self, t => misc::tool_called(&t, run, &call, now).await)
    }

    async fn record_swap(&self, swap: Swap, now: u64) -> Result<u64, StoreError> {
        write_tx!(self, t => misc::record_swap(&t, &swap, now).await)
    }

    async fn overrides(&self) -> Result<Vec<(String, Override)>, StoreError> {
        read_tx!(self, t => {
            let rows = t.rows("SELECT key, value FROM overrides ORDER BY key", &[]).await?;
            rows.iter()
                .map(|r| Ok((r.get(0), serde_json::from_str(r.get(1))?)))
                .collect::<Result<Vec<_>, StoreError>>()
        })
    }

    async fn put_head_signature(&self, sig: HeadSignature) -> Result<(), StoreError> {
        write_tx!(self, t => {
            t.exec(
                "INSERT INTO ledger_signatures (run_id, seq, head, signature, public_key, time_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id, seq) DO UPDATE SET \
                 head = EXCLUDED.head, signature = EXCLUDED.signature, \
                 public_key = EXCLUDED.public_key, time_ms = EXCLUDED.time_ms",
                &[&sig.run, &i(sig.seq), &sig.head, &sig.signature, &sig.key, &i(sig.time_ms)],
            )
            .await
            .map(|_| ())
        })
    }

    async fn head_signatures(&self, run: &str) -> Result<Vec<HeadSignature>, StoreError> {
        read_tx!(self, t => {
            let rows = t
                .rows(
                    "SELECT seq, head, signature, public_key, time_ms FROM ledger_signatures \
                     WHERE run_id = $1 ORDER BY seq",
                    &[&run],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| HeadSignature {
                    run: run.to_owned(),
                    seq: u(r.get(0)),
                    head: r.get(1),
                    signature: r.get(2),
                    key: r.get(3),
                    time_ms: u(r.get(4)),
                })
                .collect())
        })
    }
}

#[async_trait::async_trait]
impl LockStore for PgStore {
    async fn lock_acquire(
        &self,
        key: &str,
        owner: &str,
        ttl_ms: u64,
        now: u64,
    ) -> Result<LockAcquire, StoreError> {
        write_tx!(self, t => lock::acquire(&t, key, owner, ttl_ms, now).await)
    }

    async fn lock_release(
        &self,
        key: &str,
        token: u64,
        now: u64,
    ) -> Result<LockRecord, StoreError> {
        write_tx!(self, t => lock::release(&t, key, token, now).await)
    }

    async fn locks_list(&self, now: u64) -> Result<Vec<LockRecord>, StoreError> {
        read_tx!(self, t => {
            let rows = t
                .rows(
                    &format!("SELECT {LOCK_COLS} FROM op_locks WHERE expires_ms > $1 ORDER BY key"),
                    &[&i(now)],
                )
                .await?;
            Ok::<_, StoreError>(rows.iter().map(lock_from).collect())
        })
    }

    async fn lock_get(&self, key: &str, now: u64) -> Result<Option<LockRecord>, StoreError> {
        lock::check_key(key)?;
        read_tx!(self, t => {
            let row = t
                .row(&format!("SELECT {LOCK_COLS} FROM op_locks WHERE key = $1"), &[&key])
                .await?;
            Ok::<_, StoreError>(row.map(|r| lock_from(&r)).filter(|l| l.is_live(now)))
        })
    }
}

#[async_trait::async_trait]
impl ScheduleStore for PgStore {
    async fn schedules_register(
        &self,
        ids: Vec<ScheduleId>,
        now: u64,
    ) -> Result<Vec<ScheduleState>, StoreError> {
        write_tx!(self, t => schedule::register(&t, &ids, now).await)
    }

    async fn schedule_fire(
        &self,
        tick: ScheduleTick,
        now: u64,
    ) -> Result<ScheduleFired, StoreError> {
        write_tx!(self, t => schedule::fire(&t, &tick, now).await)
    }

    async fn schedule_trigger(
        &self,
        id: ScheduleId,
        run: NewRun,
        now: u64,
    ) -> Result<Submitted, StoreError> {
        write_tx!(self, t => schedule::trigger(&t, &id, &run, now).await)
    }

    async fn schedule_pause(&self, id: ScheduleId, now: u64) -> Result<ScheduleState, StoreError> {
        write_tx!(self, t => schedule::set_paused(&t, &id, true, now).await)
    }

    async fn schedule_resume(&self, id: ScheduleId, now: u64) -> Result<ScheduleState, StoreError> {
        write_tx!(self, t => schedule::set_paused(&t, &id, false, now).await)
    }

    async fn schedules_retain(&self, keep: Vec<ScheduleId>) -> Result<Vec<ScheduleId>, StoreError> {
        let keep: BTreeSet<ScheduleId> = keep.into_iter().collect();
        write_tx!(self, t => schedule::retain(&t, &keep).await)
    }

    async fn schedules_list(&self) -> Result<Vec<ScheduleState>, StoreError> {
        read_tx!(self, t => {
            let rows = t
                .rows(&format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY flow_id, key"), &[])
                .await?;
            Ok::<_, StoreError>(rows.iter().map(state_from).collect())
        })
    }

    async fn schedule_get(&self, id: &ScheduleId) -> Result<Option<ScheduleState>, StoreError> {
        read_tx!(self, t => {
            let row = t
                .row(
                    &format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE flow_id = $1 AND key = $2"),
                    &[&id.flow_id, &id.key],
                )
                .await?;
            Ok::<_, StoreError>(row.map(|r| state_from(&r)))
        })
    }
}

#[async_trait::async_trait]
impl ChangeFeed for PgStore {
    async fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        write_tx!(self, t => {
            feed::publish(&t).await?;
            let rows = t
                .rows(
                    "SELECT seq, run_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&i(after), &lim(limit)],
                )
                .await?;
            let changes: Vec<Change> = rows
                .iter()
                .map(|r| Change {
                    seq: u(r.get(0)),
                    run_id: r.get(1),
                })
                .collect();
            Ok::<_, StoreError>(changes)
        })
    }

    async fn change_head(&self) -> Result<u64, StoreError> {
        write_tx!(self, t => {
            feed::publish(&t).await?;
            feed::head(&t).await
        })
    }
}
