//! `hostile-loop`: a step that never returns, to test the host's time limits. A
//! `black_box`ed counter keeps the optimiser from deleting the loop.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use std::hint::black_box;
use weft::plugin::types::{PluginError, RunInfo};

struct HostileLoop;

impl Guest for HostileLoop {
    fn run(_info: RunInfo, _config: String, input: String) -> Result<String, PluginError> {
        let mut n = input.len() as u64;
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }
}

export!(HostileLoop);
