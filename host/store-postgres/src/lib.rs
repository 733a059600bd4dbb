//! The PostgreSQL store of weft, behind the store contract (`weft_store_api`).
//!
//! [`PgStore::connect`] opens a connection pool, applies the schema's pending
//! migrations (versioned `.sql` files, under an advisory lock so that two
//! daemons starting together do not race) and starts a `LISTEN weft_commits`
//! task, so that [`weft_store_api::Store::commits`] moves on commits made by
//! other processes too. Every operation of the contract is one PostgreSQL
//! transaction; the guarantees redb gets from its single writer come from
//! row locks here:
//!
//! - leases pick with `SELECT … FOR UPDATE SKIP LOCKED`, in redb's order
//!   (priority high first, then `ready_at`, then id);
//! - a conditional lease (`lease_task`) takes a free slot of its pool
//!   (`pool_slots`, `FOR UPDATE SKIP LOCKED`, then checked again under the
//!   lock), so at most `max_concurrent`
//!   leases are live and leases of one pool do not wait for each other; a
//!   rate-limited pool also locks its row in `pools` for the token bucket;
//! - a completion locks its run's row before it decides fan-in, so a join
//!   step is enqueued exactly once;
//! - a budget reservation locks the (day, tenant) and (day, pool) rows that
//!   hold both the charges and the reservations;
//! - idempotency keys, journal entries, locks and schedule states are primary
//!   keys; a racing insert fails on the constraint and the transaction is run
//!   again (as for a deadlock or a serialisation failure), seeing the winner.
//!
//! The ledger is appended with the contract's canonical bytes and chain
//! (`canonical_event_bytes`, `chain_hash`), so a run's ledger is the same on
//! PostgreSQL as on redb, and verified with `verify_events`.
//!
//! **Driver**: `tokio-postgres` with a `deadpool-postgres` pool. Both are
//! maintained, async, and check nothing at compile time — unlike `sqlx`'s
//! macros, which need a database (or prepared query files) to build, a burden
//! for every build of a workspace where PostgreSQL is optional.
//!
//! **Durability**: every commit waits for PostgreSQL's commit (run the server
//! with `synchronous_commit=on`). Leases for `WorkerSite::InProcess` are made
//! durable too; nothing is skipped. There is no group commit: each operation
//! is its own transaction, and `writer_stats` counts them so.
//!
//! TLS is not supported yet (`NoTls`); connect over a Unix socket or a trusted
//! network.

mod config;
mod conv;
mod copy;
mod feed;
mod listen;
mod migrate;
mod ops;
mod reads;
mod roles;
mod run_seq;
mod store;
mod tx;

pub use config::PgConfig;
pub use migrate::{MIGRATIONS, Migration};
pub use store::PgStore;
