//! weft-index: search over weft runs.

pub mod semantic;
