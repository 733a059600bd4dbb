//! `hostile-stack`: a step that recurses without bound, to test that a stack
//! overflow traps cleanly. Two kinds, chosen by config `{"frames": ...}`:
//! - `"native"` (default): frames hold only scalars, which live on the Wasm
//!   engine's own stack, so it is the engine's stack limit that is hit;
//! - `"memory"`: each frame keeps a `black_box`ed 1 KiB array alive, which Rust
//!   places on its shadow stack in linear memory, so the overflow runs off the
//!   bottom of linear memory instead.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use std::hint::black_box;
use weft::plugin::types::{PluginError, RunInfo};

struct HostileStack;

#[inline(never)]
fn recurse_in_memory(depth: u64) -> u64 {
    let mut frame = [0u8; 1024];
    frame[(depth % 1024) as usize] = depth as u8;
    black_box(&mut frame);
    // Never true, but the optimiser cannot know it.
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let below = recurse_in_memory(depth + 1);
    below.wrapping_add(u64::from(frame[(depth % 997) as usize]))
}

#[inline(never)]
fn recurse_natively(depth: u64, a: u64, b: u64, c: u64) -> u64 {
    if depth == u64::MAX {
        return a;
    }
    // The result is used after the call, in a way that is not a simple
    // accumulator, so the recursion cannot become a loop.
    let below = recurse_natively(depth + 1, b ^ depth, c.wrapping_add(a), a.rotate_left(7));
    below.wrapping_mul(a | 1).wrapping_add(b ^ c)
}

impl Guest for HostileStack {
    fn run(_info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let seed = input.len() as u64;
        let n = if config.contains("\"memory\"") {
            recurse_in_memory(seed)
        } else {
            recurse_natively(seed, seed, seed ^ 0x55, seed.rotate_left(3))
        };
        Ok(format!("\"recursion returned {n}\""))
    }
}

export!(HostileStack);
