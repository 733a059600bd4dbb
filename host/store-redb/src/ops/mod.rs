//! The write operations. Each runs inside the writer's batch transaction.
//!
//! The rule every operation keeps: check everything that can refuse the operation
//! first, then write. The only write allowed before a refusal is the refusal's own
//! record (a stale fencing token), so a refused operation never leaves half its
//! effects in a batch that commits.

pub mod advance;
pub mod common;
pub mod finish;
pub mod idempotency;
pub mod import;
pub mod lock;
pub mod misc;
pub mod pool_leases;
pub mod queue;
pub mod ready_index;
pub mod reservations;
pub mod schedule;
pub mod submit;
