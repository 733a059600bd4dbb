//! The embedded store of weft, on redb: the default backend of the store
//! contract (`weft_store_api`).
//!
//! One [`RedbStore`] handle (cheap to clone) fronts one redb file. Every write
//! goes to a single writer thread that applies all pending operations in one
//! transaction, commits it with `Durability::Immediate` and only then answers
//! the callers (group commit). Reads open their own MVCC snapshot. Leases of
//! workers in this process commit without fsync (see [`weft_store_api::WorkerSite`]).
//!
//! See `docs/storage.md` for the tables and the commit protocol.

mod changes;
mod check;
mod check_walk;
mod copy;
mod copy_export;
mod costs;
mod db;
mod guard;
mod head_signatures;
mod journal;
mod leasing;
mod ledger;
mod locks;
mod ops;
mod pool_view;
mod queue_next;
mod read;
mod repair;
mod run_events;
mod runs;
mod schedules;
mod sim_disk;
mod store;
mod swaps;
pub mod tables;
mod verify_run;
mod writer;

pub use check::{CheckReport, PageCheck, TableRows, Walk, Walked, check_file};
pub use repair::{RepairOutcome, RepairReport, repair_file};
pub use sim_disk::{PowerLoss, SeededRng, SimDisk};
pub use store::{DEFAULT_CACHE_BYTES, RedbOptions, RedbStore};
