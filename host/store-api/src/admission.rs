//! The checks a store makes atomically, so that they hold across processes: a
//! pool's concurrency cap and rate limit when a task is leased
//! ([`QueueStore::lease_task`](crate::QueueStore::lease_task)), and a budget
//! reservation before a model call
//! ([`CostStore::reserve_budget`](crate::CostStore::reserve_budget)).
//!
//! The token-bucket arithmetic lives here, once, so that every backend and
//! every reader (`weft pools`) refills a bucket the same way.

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::types::{Lease, NewTask};

/// Micro-tokens in one token: buckets count in whole micro-tokens so that they
/// compare exactly.
pub const MICRO_TOKENS: u64 = 1_000_000;

/// A pool's rate limit: `per_minute` tokens a minute, at most `burst` saved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateCap {
    /// Tokens added per minute.
    pub per_minute: f64,
    /// The bucket's size, in tokens.
    pub burst: u32,
}

/// What a lease of a pool's task is checked against, in the lease's own
/// transaction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PoolCap {
    /// Live leases the pool may hold at once.
    pub max_concurrent: u32,
    /// Its rate limit, if it has one.
    pub rate: Option<RateCap>,
}

impl PoolCap {
    /// No limit at all (for callers that lease outside any pool's rules).
    pub const UNLIMITED: Self = Self {
        max_concurrent: u32::MAX,
        rate: None,
    };
}

/// A pool that refuses new work when full (`on_exhausted: fail`): a submit
/// that would put a task in it is refused while its running plus queued tasks
/// reach `max_concurrent`
/// ([`RunStore::submit_run_capped`](crate::RunStore::submit_run_capped)),
/// checked in the submit's own transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrictPool {
    /// The pool's name.
    pub pool: String,
    /// Running plus queued tasks it holds at most.
    pub max_concurrent: u32,
}

impl StrictPool {
    /// The pools of `strict` that one of `tasks` enters, in name order (the
    /// order a backend that locks them takes them in, so two submits never
    /// wait for each other in a circle).
    pub fn entered<'a>(strict: &'a [StrictPool], tasks: &[NewTask]) -> Vec<&'a StrictPool> {
        let mut entered: Vec<&StrictPool> = strict
            .iter()
            .filter(|p| tasks.iter().any(|task| task.pool == p.pool))
            .collect();
        entered.sort_by(|a, b| a.pool.cmp(&b.pool));
        entered
    }

    /// [`StoreError::PoolExhausted`] when `active` live leases plus `queued`
    /// tasks reach the pool's `max_concurrent`.
    pub fn check_room(&self, active: u64, queued: u64) -> Result<(), StoreError> {
        if active + queued >= u64::from(self.max_concurrent) {
            return Err(StoreError::PoolExhausted {
                pool: self.pool.clone(),
                active,
                queued,
                max: self.max_concurrent,
            });
        }
        Ok(())
    }
}

/// A pool's token bucket as a store keeps it: micro-tokens at a time (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenBucket {
    /// Micro-tokens in the bucket at `at_ms`.
    pub micro_tokens: u64,
    /// When it was last refilled or taken from.
    pub at_ms: u64,
}

impl TokenBucket {
    /// A full bucket at `now` (a pool's first lease).
    pub fn full(rate: RateCap, now: u64) -> Self {
        Self {
            micro_tokens: u64::from(rate.burst) * MICRO_TOKENS,
            at_ms: now,
        }
    }

    /// The bucket refilled up to `now` (never backwards in time).
    pub fn refilled(self, rate: RateCap, now: u64) -> Self {
        let elapsed = now.saturating_sub(self.at_ms) as f64;
        let added = (elapsed * rate.per_minute.max(0.0) * MICRO_TOKENS as f64 / 60_000.0) as u64;
        let cap = u64::from(rate.burst) * MICRO_TOKENS;
        Self {
            micro_tokens: self.micro_tokens.saturating_add(added).min(cap),
            at_ms: now.max(self.at_ms),
        }
    }

    /// Whether a whole token is there.
    pub fn has_token(&self) -> bool {
        self.micro_tokens >= MICRO_TOKENS
    }

    /// The bucket with one token taken (callers check [`Self::has_token`]).
    pub fn taken(self) -> Self {
        Self {
            micro_tokens: self.micro_tokens.saturating_sub(MICRO_TOKENS),
            ..self
        }
    }

    /// Tokens in the bucket, as a fraction (for display).
    pub fn tokens(&self) -> f64 {
        self.micro_tokens as f64 / MICRO_TOKENS as f64
    }

    /// When the next whole token is there (ms), refilled from `at_ms`;
    /// `u64::MAX` for a rate of zero.
    pub fn next_token_at(&self, rate: RateCap) -> u64 {
        let missing = MICRO_TOKENS.saturating_sub(self.micro_tokens);
        if missing == 0 {
            return self.at_ms;
        }
        if rate.per_minute <= 0.0 {
            return u64::MAX;
        }
        let ms = (missing as f64 * 60_000.0 / (rate.per_minute * MICRO_TOKENS as f64)).ceil();
        self.at_ms.saturating_add(ms as u64)
    }
}

/// What a conditional lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseTry {
    /// The task is leased.
    Leased(Lease),
    /// The task is not ready any more (another worker took it, its run ended).
    Gone,
    /// The pool holds `max_concurrent` live leases already.
    Full,
    /// The pool's bucket has no token; the next one comes at this time (ms).
    RateLimited {
        /// When a token is there.
        next_token_at: u64,
    },
}

/// Whose daily limit a budget check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Limited {
    /// The tenant's `budget_usd_daily`.
    Tenant,
    /// The pool's daily cost limit.
    Pool,
}

/// A budget reservation asked for before a model call: `micro_usd` for `day`,
/// held against the tenant's and the pool's limits until it is released (the
/// charge releases it in its own transaction) or `expires_at` passes (a
/// crashed process does not hold money for ever).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAsk {
    /// The UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// The run's tenant.
    pub tenant: String,
    /// The task's pool.
    pub pool: String,
    /// The most the call could cost.
    pub micro_usd: u64,
    /// The tenant's daily budget, if any.
    pub tenant_limit: Option<u64>,
    /// The pool's daily limit, if any.
    pub pool_limit: Option<u64>,
    /// When the reservation lapses by itself (ms).
    pub expires_at: u64,
}

/// What a budget reservation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetReply {
    /// Reserved; release it (or charge it) with this id.
    Reserved {
        /// The reservation's id.
        id: u64,
    },
    /// Spent + reserved + the ask is above a limit; nothing was reserved.
    Exceeded {
        /// Whose limit.
        limited: Limited,
        /// Charges committed that day.
        spent: u64,
        /// Held by other reservations that have not lapsed.
        reserved: u64,
        /// The limit.
        limit: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PER_MINUTE: RateCap = RateCap {
        per_minute: 2.0,
        burst: 3,
    };

    #[test]
    fn a_bucket_refills_at_its_rate_up_to_its_burst() {
        let b = TokenBucket::full(TWO_PER_MINUTE, 1_000);
        assert_eq!(b.micro_tokens, 3 * MICRO_TOKENS);
        let b = b.taken().taken().taken();
        assert!(!b.has_token());
        assert_eq!(b.next_token_at(TWO_PER_MINUTE), 1_000 + 30_000);
        let half = b.refilled(TWO_PER_MINUTE, 1_000 + 15_000);
        assert!(!half.has_token());
        assert_eq!(half.micro_tokens, MICRO_TOKENS / 2);
        assert_eq!(half.next_token_at(TWO_PER_MINUTE), 1_000 + 30_000);
        assert!(b.refilled(TWO_PER_MINUTE, 31_000).has_token());
        let full = b.refilled(TWO_PER_MINUTE, 10_000_000);
        assert_eq!(full.micro_tokens, 3 * MICRO_TOKENS);
    }

    #[test]
    fn time_never_runs_backwards_and_a_zero_rate_never_refills() {
        let b = TokenBucket::full(TWO_PER_MINUTE, 5_000).taken();
        assert_eq!(b.refilled(TWO_PER_MINUTE, 1_000), b);
        let zero = RateCap {
            per_minute: 0.0,
            burst: 1,
        };
        let empty = TokenBucket::full(zero, 0).taken();
        assert_eq!(empty.refilled(zero, u64::MAX / 2).micro_tokens, 0);
        assert_eq!(empty.next_token_at(zero), u64::MAX);
    }
}
