//! The compiled-component cache: compile once, keep serialized artifacts on disk
//! so a restart does not recompile, and survive a corrupt artifact.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use weft_core::PluginKind;
use weft_runtime::{ComponentOrigin, RuntimeConfig};
use weft_tests::{ctx, plugin_bytes, run_info, runtime_with};

fn config(dir: &std::path::Path) -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(dir.to_owned()),
        ..RuntimeConfig::default()
    }
}

fn cached_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for sub in std::fs::read_dir(dir).unwrap().flatten() {
        for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
            files.push(f.path());
        }
    }
    files
}

#[tokio::test]
async fn a_restart_loads_from_disk_instead_of_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = plugin_bytes("echo");

    let first = runtime_with(config(dir.path()));
    let p = first.load("echo", &bytes, PluginKind::Step).await.unwrap();
    assert_eq!(p.origin(), ComponentOrigin::Compiled);
    let again = first.load("echo", &bytes, PluginKind::Step).await.unwrap();
    assert_eq!(again.origin(), ComponentOrigin::Memory);
    let files = cached_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .to_string_lossy()
            .ends_with(&format!("{}.cwasm", p.sha256()))
    );

    // A new runtime (as after a restart) finds the artifact on disk.
    let restarted = runtime_with(config(dir.path()));
    let p = restarted
        .load("echo", &bytes, PluginKind::Step)
        .await
        .unwrap();
    assert_eq!(p.origin(), ComponentOrigin::Disk);
    let out = p
        .run_step(&ctx(), &run_info("echo"), "{}", "[1,2]")
        .await
        .unwrap();
    assert_eq!(out, "[1,2]");
}

#[tokio::test]
async fn a_corrupt_artifact_is_recompiled_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = plugin_bytes("echo");
    runtime_with(config(dir.path()))
        .load("echo", &bytes, PluginKind::Step)
        .await
        .unwrap();
    let artifact = cached_files(dir.path()).pop().unwrap();
    std::fs::write(&artifact, b"not a compiled component").unwrap();

    let p = runtime_with(config(dir.path()))
        .load("echo", &bytes, PluginKind::Step)
        .await
        .unwrap();
    assert_eq!(p.origin(), ComponentOrigin::Compiled);
    assert_ne!(
        std::fs::read(&artifact).unwrap(),
        b"not a compiled component"
    );
    let out = p
        .run_step(&ctx(), &run_info("echo"), "{}", "true")
        .await
        .unwrap();
    assert_eq!(out, "true");

    let p = runtime_with(config(dir.path()))
        .load("echo", &bytes, PluginKind::Step)
        .await
        .unwrap();
    assert_eq!(p.origin(), ComponentOrigin::Disk);
}
