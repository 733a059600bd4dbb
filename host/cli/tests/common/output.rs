//! Reading what a `weft` process printed, for the tests that run the binary.
//! Included with `#[path]` by the tests that need it.
#![allow(dead_code, reason = "each test binary uses a part of the helpers")]

use std::process::Output;

use serde_json::Value;

/// Its stdout, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Its stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command succeeded; its stdout as JSON.
pub fn json_ok(out: &Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// The command failed with exit 1; its stderr.
pub fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    stderr(out)
}
