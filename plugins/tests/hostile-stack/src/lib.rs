//! `hostile-stack`: a step that recurses without bound, to test that a stack
//! overflow traps cleanly. Each frame keeps a `black_box`ed 1 KiB array alive
//! across the call, so the recursion cannot become a loop.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use std::hint::black_box;
use weft::plugin::types::{PluginError, RunInfo};

struct HostileStack;

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 1024];
    frame[(depth % 1024) as usize] = depth as u8;
    black_box(&mut frame);
    // Never true, but the optimiser cannot know it.
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let below = recurse(depth + 1);
    below.wrapping_add(u64::from(frame[(depth % 997) as usize]))
}

impl Guest for HostileStack {
    fn run(_info: RunInfo, _config: String, input: String) -> Result<String, PluginError> {
        let n = recurse(input.len() as u64);
        Ok(format!("\"recursion returned {n}\""))
    }
}

export!(HostileStack);
