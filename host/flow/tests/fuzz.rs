#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! Fuzz targets of the flow crate: flow files, `weft.yaml`, cron lines,
//! `${{ }}` templates and durations must never panic, whatever the input
//! (an error is fine). Each target runs `WEFT_FUZZ_CASES` cases (a small
//! default here; `scripts/fuzz.sh N` runs N) from a fixed seed; a case that
//! panics is printed as hex and kept in `fuzz/regressions.rs`.

#[path = "fuzz/corpus.rs"]
mod corpus;
#[path = "fuzz/flows.rs"]
mod flows;
#[path = "fuzz/grammar.rs"]
mod grammar;
#[path = "fuzz/project.rs"]
mod project;
#[path = "fuzz/regressions.rs"]
mod regressions;
