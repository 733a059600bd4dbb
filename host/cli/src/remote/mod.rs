//! `weft worker`: a stateless process that leases tasks from a daemon and
//! runs their steps in its own sandbox (see `commands/worker.rs`).

pub(crate) mod api;
pub(crate) mod slot;
pub(crate) mod step_host;
