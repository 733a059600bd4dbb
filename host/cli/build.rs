//! Builds the Rust reference plugins (via `scripts/build-plugins.sh --rust-only`)
//! so the binary can embed them: `mock-model` serves `weft plugin run`, and
//! `weft init` writes the reference plugins into a starter project.

use std::path::PathBuf;

/// The plugins `src/embedded.rs` includes.
const EMBEDDED: [&str; 7] = [
    "echo",
    "json-transform",
    "prompt",
    "mock-model",
    "exp-backoff",
    "priority-fifo",
    "fair-share",
];
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.join("../..");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("plugins");
    let status = Command::new("bash")
        .arg(root.join("scripts/build-plugins.sh"))
        .arg("--rust-only")
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("scripts/build-plugins.sh --rust-only failed ({s})"),
        Err(e) => panic!("could not run bash scripts/build-plugins.sh: {e}"),
    }
    println!("cargo:rustc-env=WEFT_EMBEDDED_PLUGINS={}", out.display());
    for plugin in EMBEDDED {
        println!(
            "cargo:rerun-if-changed={}",
            root.join("plugins").join(plugin).display()
        );
    }
    for path in ["plugins/Cargo.toml", "wit", "scripts/build-plugins.sh"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
}
