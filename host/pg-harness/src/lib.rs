//! A throwaway PostgreSQL server for tests.
//!
//! [`PgServer::start`] runs `initdb` into a temporary folder and starts
//! `postgres` on a free TCP port of 127.0.0.1 (and a Unix socket in the same
//! folder), with `fsync=on` and `synchronous_commit=on`, waits until
//! `pg_isready` answers, and stops the server when dropped. PostgreSQL refuses
//! to run as root: as root, the server runs as the unprivileged user `weftpg`
//! (created with `useradd --system` if missing) and the folder is given to it.
//!
//! [`PgServer::shared`] starts one server per test process, lazily; a small
//! watchdog process stops it once the test process has exited (a `static` is
//! never dropped). Tests share it and isolate themselves with a schema or a
//! database of their own ([`PgServer::url`], [`unique_name`]).
//!
//! The binaries come from `WEFT_PG_BIN` if set, else
//! `/usr/lib/postgresql/15/bin`; missing binaries are [`HarnessError::Missing`]
//! with the command that installs them.

mod server;

pub use server::{HarnessError, PgServer, unique_name};
