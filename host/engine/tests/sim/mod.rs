//! The deterministic simulator of the engine (see `tests/simulation.rs`).

pub mod check;
pub mod world;
