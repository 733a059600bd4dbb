//! Inputs that once made a target panic, replayed on every test run (the
//! targets print a failing input as hex; keep it here with what it broke).

use crate::{corpus, flows};

/// A schedule asked for its next fire after the last instant `DateTime`
/// holds: the `cron` crate's arithmetic overflowed (`DateTime + TimeDelta
/// overflowed`) inside `Schedule::next_after`. Fixed in
/// `host/flow/src/fire_times.rs` (instants outside the cron crate's years are
/// kept out of it).
#[test]
fn next_fire_after_the_end_of_time() {
    let project = corpus::project();
    weft_fuzz::replay(
        "014988bddfdadeb3c0ccdaba4b69efdafc690fe471ac1e313e7b",
        |bytes| {
            flows::tree_case(&flows::trees(), &project, bytes);
        },
    );
    weft_fuzz::replay(
        "01f886a45db70b5f4951f258d64667a5e86f02be6759e9b23f12",
        |bytes| {
            flows::line_case(&corpus::flows(), &project, bytes);
        },
    );
}
