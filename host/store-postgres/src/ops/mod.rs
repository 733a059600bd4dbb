//! The write operations, each run inside one transaction ([`crate::tx::Tx`]).
//!
//! The rule every operation keeps, as on redb: check everything that can
//! refuse the operation first, then write. The only write allowed before a
//! refusal is the refusal's own record (a stale fencing token), so a refused
//! operation never leaves half its effects.
//!
//! Lock order, where an operation takes several: a task's row, then its
//! run's row, then the run's other tasks, then ledger heads and counters.
//! Where an operation must go the other way (a cancel locks its run first),
//! PostgreSQL detects the deadlock and `write_tx!` runs the loser again.

pub(crate) mod advance;
pub(crate) mod common;
pub(crate) mod costs;
pub(crate) mod finish;
pub(crate) mod ledger;
pub(crate) mod lock;
pub(crate) mod misc;
pub(crate) mod pool_slots;
pub(crate) mod queue;
pub(crate) mod records;
pub(crate) mod schedule;
pub(crate) mod submit;
