//! [`LedgerStore`]: the hash-chained ledger of each run, the journal of model
//! calls and tool calls, and the components swapped in at run time.

use serde_json::Value;

use crate::error::StoreError;
use crate::head_sign::HeadSignature;
use crate::ledger::{LedgerEvent, VerifyReport};
use crate::types::ToolCall;
use crate::views::{Override, Swap};

/// The append-only record of what happened. Events are appended by the
/// operations that cause them, in their transaction; this trait reads them and
/// keeps what a replay needs.
///
/// Every backend stores the same canonical bytes
/// ([`crate::canonical_event_bytes`]) and chain ([`crate::chain_hash`]), so a
/// run copied between backends verifies to the same head.
#[async_trait::async_trait]
pub trait LedgerStore: Send + Sync {
    /// A run's ledger in order.
    async fn ledger(&self, run: &str) -> Result<Vec<LedgerEvent>, StoreError>;

    /// Recomputes a run's hash chain; the report names the first bad seq.
    async fn verify(&self, run: &str) -> Result<VerifyReport, StoreError>;

    /// Journals a model call's answer (first answer wins); true if stored now.
    async fn journal_put(
        &self,
        run: &str,
        step: &str,
        index: u32,
        value: Value,
        now: u64,
    ) -> Result<bool, StoreError>;

    /// A journaled model call answer.
    async fn journal_get(
        &self,
        run: &str,
        step: &str,
        index: u32,
    ) -> Result<Option<Value>, StoreError>;

    /// Records a tool call of a step (`call-tool`) in the run's ledger.
    async fn tool_called(&self, run: &str, call: ToolCall, now: u64) -> Result<(), StoreError>;

    /// Stores `swap.new` under `swap.key` and appends a `component-swapped`
    /// event (key, old and new sha256, config) to `swap.stream`, in one commit.
    /// Returns the event's seq in the stream.
    async fn record_swap(&self, swap: Swap, now: u64) -> Result<u64, StoreError>;

    /// Every override, by key.
    async fn overrides(&self) -> Result<Vec<(String, Override)>, StoreError>;

    /// Stores a signed head of `sig.run`'s ledger (see `docs/storage.md`,
    /// "Tamper evidence"); a second signature of the same seq replaces the
    /// first. The store never checks it: the key that verifies it is not here.
    async fn put_head_signature(&self, sig: HeadSignature) -> Result<(), StoreError>;

    /// The signed heads of `run`'s ledger, by seq.
    async fn head_signatures(&self, run: &str) -> Result<Vec<HeadSignature>, StoreError>;
}
