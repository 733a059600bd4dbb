//! The memory bomb, measured from the host's side: while it runs, the host's
//! resident memory grows by about the plugin's cap and no more. In its own test
//! binary so no other test's allocations blur the figure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use weft_core::PluginKind;
use weft_runtime::{CallError, CallLimits};
use weft_tests::{ctx_with, load, run_info, runtime};

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn host_rss_stays_within_the_plugins_memory_cap() {
    let rt = runtime();
    let bomb = load(&rt, "hostile-memory", PluginKind::Step).await.unwrap();
    let cap = 128 * 1024 * 1024;
    // Reset the kernel's peak-RSS counter (VmHWM) to the current RSS.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS:").unwrap();
    let err = bomb
        .run_step(
            &ctx_with(CallLimits {
                memory_bytes: cap,
                ..Default::default()
            }),
            &run_info("bomb"),
            "{}",
            "{}",
        )
        .await
        .unwrap_err();
    let peak = status_kib("VmHWM:").unwrap();
    assert!(matches!(err, CallError::MemoryLimit { .. }), "{err}");
    let grew = usize::try_from(peak.saturating_sub(before) * 1024).unwrap();
    eprintln!(
        "memory bomb: cap {} MiB, host RSS before {} MiB, peak {} MiB (+{} MiB)",
        cap >> 20,
        before / 1024,
        peak / 1024,
        grew >> 20
    );
    // The bomb really touches what it allocates, so RSS must rise (proof that
    // the measurement sees it), but by no more than the cap plus slack.
    assert!(
        grew > cap / 2,
        "the bomb should have touched its memory: +{grew} bytes"
    );
    assert!(
        grew < cap + 64 * 1024 * 1024,
        "host RSS grew {grew} bytes, cap is {cap}"
    );
}
