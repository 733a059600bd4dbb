//! `hostile-env`: a step that tries to read the host's environment, to test that
//! plugins get none. Panics when it finds none; returns what it found otherwise.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::json;
use weft::plugin::types::{PluginError, RunInfo};

struct HostileEnv;

impl Guest for HostileEnv {
    fn run(_info: RunInfo, _config: String, _input: String) -> Result<String, PluginError> {
        let path = std::env::var("PATH").ok();
        let count = std::env::vars_os().count();
        if path.is_none() && count == 0 {
            panic!("no environment: PATH not set");
        }
        Ok(json!({ "PATH": path, "vars": count }).to_string())
    }
}

export!(HostileEnv);
