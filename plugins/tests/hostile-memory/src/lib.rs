//! `hostile-memory`: a step that allocates 1 MiB chunks forever, writing every byte
//! of each, to test the host's memory limit. It panics when an allocation fails
//! (or is killed first by the host).

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use std::hint::black_box;
use weft::plugin::types::{PluginError, RunInfo};

struct HostileMemory;

const MIB: usize = 1024 * 1024;

impl Guest for HostileMemory {
    fn run(_info: RunInfo, _config: String, input: String) -> Result<String, PluginError> {
        // Nonzero and input-dependent, so the pages cannot be left untouched.
        let fill = input.bytes().fold(0x5a_u8, |a, b| a.wrapping_add(b)) | 1;
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = Vec::new();
            if let Err(e) = chunk.try_reserve_exact(MIB) {
                panic!(
                    "hostile-memory: allocation failed after {} MiB: {e}",
                    chunks.len()
                );
            }
            chunk.resize(MIB, fill);
            chunks.push(black_box(chunk));
            black_box(&mut chunks);
        }
    }
}

export!(HostileMemory);
