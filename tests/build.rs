//! Builds every plugin under `plugins/` (Rust, Python, JavaScript, hostile test
//! plugins) into `plugins/dist/` with `scripts/build-plugins.sh`, so that
//! `cargo test` alone is enough. Exposes the folder as `WEFT_PLUGIN_DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let dist = root.join("plugins/dist");
    let status = Command::new("bash")
        .arg(root.join("scripts/build-plugins.sh"))
        .arg(&dist)
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
