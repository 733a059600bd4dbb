//! The contract's traits on [`crate::PgStore`], by role: each method is one
//! transaction (`write_tx!`) or one read (`read_tx!` for several tables).

mod costs;
mod queue;
mod rest;
mod runs;
