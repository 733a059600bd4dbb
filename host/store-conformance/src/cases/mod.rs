//! The cases, by area. Each takes a [`crate::Backend`] and panics on a
//! failure (they are tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test should fail loudly"
)]

mod admission;
mod copy;
mod copy_source;
mod dag;
mod differential;
mod head_signatures;
mod leasing;
mod ledger;
mod ops;
mod run_pages;
mod runs;
mod step_ends;

pub use admission::*;
pub use copy::*;
pub use dag::*;
pub use differential::*;
pub use head_signatures::*;
pub use leasing::*;
pub use ledger::*;
pub use ops::*;
pub use run_pages::*;
pub use runs::*;
pub use step_ends::*;
