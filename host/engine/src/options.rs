//! How an engine runs ([`EngineOptions`]) and how a run is submitted
//! ([`SubmitOptions`]).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};

/// How a run is submitted (see [`Engine::submit_with`]).
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    /// Submitting the same key again (within the engine's idempotency TTL)
    /// answers the first run.
    pub idempotency_key: Option<String>,
    /// The tenant the run belongs to; the engine's own when `None`.
    pub tenant: Option<String>,
    /// Higher first: the run's tasks are leased before lower ones of their
    /// pool. 0: the `priority_field` of its first step's pool, read from the
    /// input, if that pool has one.
    pub priority: u32,
    /// Start no earlier than this (ms since the Unix epoch): the run's first
    /// tasks wait, delayed, holding no worker; a time already past starts
    /// it now. At most [`MAX_START_DELAY_MS`] ahead.
    pub not_before: Option<u64>,
}

/// The furthest ahead a run may be submitted to start (366 days).
pub const MAX_START_DELAY_MS: u64 = 366 * 24 * 3_600_000;

/// How an [`Engine`] runs.
#[derive(Clone)]
pub struct EngineOptions {
    /// How many workers execute tasks at once.
    pub workers: usize,
    /// How long a lease lasts; a worker renews it every third of that while its
    /// step runs, so a crashed worker's task comes back after at most this long.
    pub lease_ms: u64,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
    /// The tenant runs are submitted for.
    pub tenant: String,
    /// How long an idempotency key names its run; `None`: weft.yaml's
    /// `idempotency.ttl` (24 hours unless it says).
    pub idempotency_ttl_ms: Option<u64>,
    /// How long to keep trying a database store (`store: postgres`) that
    /// cannot be reached at open.
    pub store_wait: Duration,
    /// Whether a background task hands expired leases back as they run out
    /// (`lease_reaper`). Without it, expired leases are handed back by the
    /// next lease request: the simulator turns it off, so that nothing runs
    /// but what it drives.
    pub lease_reaper: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            workers: 4,
            lease_ms: 30_000,
            clock: Arc::new(SystemClock),
            tenant: "default".into(),
            idempotency_ttl_ms: None,
            store_wait: Duration::from_secs(60),
            lease_reaper: true,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("workers", &self.workers)
            .field("lease_ms", &self.lease_ms)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}
