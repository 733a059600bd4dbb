//! [`LedgerStore`] on redb: ledgers read and verified from a snapshot; journal
//! entries, tool calls and swaps written through the writer.

use serde_json::Value;
use weft_store_api::{
    HeadSignature, LedgerEvent, LedgerStore, Override, StoreError, Swap, ToolCall, VerifyReport,
};

use crate::ops::misc;
use crate::store::RedbStore;
use crate::{head_signatures, read, swaps};

#[async_trait::async_trait]
impl LedgerStore for RedbStore {
    async fn ledger(&self, run: &str) -> Result<Vec<LedgerEvent>, StoreError> {
        self.read(|rt| read::ledger(rt, run))
    }

    async fn verify(&self, run: &str) -> Result<VerifyReport, StoreError> {
        self.read(|rt| read::verify(rt, run))
    }

    async fn journal_put(
        &self,
        run: &str,
        step: &str,
        index: u32,
        value: Value,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (run, step) = (run.to_owned(), step.to_owned());
        self.write(move |t| misc::journal_put(t, &run, &step, index, &value, now))
            .await
    }

    async fn journal_get(
        &self,
        run: &str,
        step: &str,
        index: u32,
    ) -> Result<Option<Value>, StoreError> {
        self.read(|rt| read::journal_get(rt, run, step, index))
    }

    async fn tool_called(&self, run: &str, call: ToolCall, now: u64) -> Result<(), StoreError> {
        let run = run.to_owned();
        self.write(move |t| misc::tool_called(t, &run, &call, now))
            .await
    }

    async fn record_swap(&self, swap: Swap, now: u64) -> Result<u64, StoreError> {
        self.write(move |t| swaps::record(t, &swap, now)).await
    }

    async fn overrides(&self) -> Result<Vec<(String, Override)>, StoreError> {
        self.read(swaps::overrides)
    }

    async fn put_head_signature(&self, sig: HeadSignature) -> Result<(), StoreError> {
        self.write(move |t| head_signatures::put(t, &sig)).await
    }

    async fn head_signatures(&self, run: &str) -> Result<Vec<HeadSignature>, StoreError> {
        self.read(|rt| head_signatures::of_run(rt, run))
    }
}
