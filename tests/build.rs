//! Builds every plugin under `plugins/` (Rust, Python, JavaScript, C, hostile
//! test plugins) into `plugins/dist/` with `scripts/build-plugins.sh`, so that
//! `cargo test` alone is enough (once `scripts/setup.sh` has installed the
//! toolchains). Exposes the folder as `WEFT_PLUGIN_DIR`. The C plugins get the
//! WASI preview-1 reactor adapter of the workspace's wasmtime version, written
//! out of the crate that carries it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let dist = root.join("plugins/dist");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let adapter = out_dir.join("wasi_snapshot_preview1.reactor.wasm");
    if let Err(e) = std::fs::write(
        &adapter,
        wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    ) {
        panic!("could not write {}: {e}", adapter.display());
    }
    let status = Command::new("bash")
        .arg(root.join("scripts/build-plugins.sh"))
        .arg(&dist)
        .env("WEFT_WASI_ADAPTER", &adapter)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("scripts/build-plugins.sh failed ({s}); its output is above"),
        Err(e) => panic!("could not run bash scripts/build-plugins.sh: {e}"),
    }
    println!("cargo:rustc-env=WEFT_PLUGIN_DIR={}", dist.display());
    watch(&root.join("wit"));
    println!(
        "cargo:rerun-if-changed={}",
        root.join("scripts/build-plugins.sh").display()
    );
    watch(&root.join("plugins"));
}

/// Ask cargo to rerun when any plugin source changes, without watching build
/// output (which would make every build dirty).
fn watch(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some("target" | "dist" | "node_modules" | "__pycache__")
        ) {
            continue;
        }
        // Files only: a watched folder is scanned whole, node_modules included.
        if path.is_dir() {
            watch(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
