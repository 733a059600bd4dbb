//! Builds the Rust reference plugins (via `scripts/build-plugins.sh --rust-only`)
//! so the binary can embed `mock-model`.

use std::path::PathBuf;
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
    let mock = out.join("mock-model.wasm");
    println!(
        "cargo:rustc-env=WEFT_EMBEDDED_MOCK_MODEL={}",
        mock.display()
    );
    for dir in [
        "plugins/mock-model/src",
        "plugins/mock-model/Cargo.toml",
        "wit",
        "scripts/build-plugins.sh",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
}
