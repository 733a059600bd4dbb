//! Helpers of the CLI tests: the real `weft` binary, with the tests' shared
//! compiled-component cache.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;
use std::process::{Command, Output};

use weft_tests::component_cache_dir;

/// Run `weft ARGS` in `dir` and wait for it.
pub fn weft(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("weft did not run: {e}"))
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
