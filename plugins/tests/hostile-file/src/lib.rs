//! `hostile-file`: a step that tries to read `/etc/passwd` and list `.`, to test
//! that plugins get no filesystem. Panics with both I/O errors when both fail;
//! returns what it got if either succeeds.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::json;
use weft::plugin::types::{PluginError, RunInfo};

struct HostileFile;

impl Guest for HostileFile {
    fn run(_info: RunInfo, _config: String, _input: String) -> Result<String, PluginError> {
        let passwd = std::fs::read_to_string("/etc/passwd");
        let listing = std::fs::read_dir(".").and_then(|dir| {
            dir.map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<Result<Vec<_>, _>>()
        });
        match (passwd, listing) {
            (Err(e), Err(d)) => panic!("could not read /etc/passwd: {e}; could not list \".\": {d}"),
            (passwd, listing) => Ok(json!({
                "passwd": passwd.map_err(|e| e.to_string()).unwrap_or_else(|e| e),
                "listing": listing.map_err(|e| e.to_string()).map_or_else(|e| json!(e), |l| json!(l)),
            })
            .to_string()),
        }
    }
}

export!(HostileFile);
