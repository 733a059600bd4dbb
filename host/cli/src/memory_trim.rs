//! Giving freed memory back to the system when the daemon goes quiet.
//!
//! glibc's allocator keeps what a burst freed in its per-thread arenas instead
//! of returning it, so a daemon's resident memory stays at its busiest for as
//! long as it runs. Measured after a 100,000-run soak (docs/performance.md):
//! 219 MiB anonymous, of which `malloc_trim(0)` handed 107 MiB back. So the
//! daemon calls it once each time the store has been quiet for [`QUIET`] (no
//! commit), and again only after more commits. With another C library it does
//! nothing.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long the store stays quiet before the daemon trims.
pub(crate) const QUIET: Duration = Duration::from_secs(10);

/// Trims after each busy stretch of `commits` (the store's commit feed) once it
/// has been quiet for [`QUIET`], until `stop` turns true.
pub(crate) fn spawn(
    mut commits: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // Busy: wait for a commit.
            tokio::select! {
                changed = commits.changed() => if changed.is_err() { return },
                _ = stop.wait_for(|s| *s) => return,
            }
            // Then until a stretch of QUIET without one.
            loop {
                let quiet = tokio::select! {
                    changed = commits.changed() => if changed.is_err() { return } else { false },
                    _ = stop.wait_for(|s| *s) => return,
                    () = tokio::time::sleep(QUIET) => true,
                };
                if quiet {
                    break;
                }
            }
            if let Ok(true) = tokio::task::spawn_blocking(trim).await {
                tracing::debug!("gave freed memory back to the system");
            }
        }
    })
}

/// Hands the allocator's free memory back to the system; whether any was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointers and only walks glibc's own arenas,
    // under their locks; any thread may call it at any time.
    #[allow(unsafe_code, reason = "glibc's malloc_trim has no safe binding")]
    let released = unsafe { libc::malloc_trim(0) };
    released == 1
}

/// Hands the allocator's free memory back to the system (not glibc: nothing
/// to do).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn trim() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::trim;

    fn anon_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn freed_memory_held_by_an_arena_goes_back() {
        // A thread's arena fragmented on purpose: 96 MiB of 1 KiB blocks, one
        // in eight kept, so that what is freed cannot shrink the heap by itself.
        let kept = std::thread::spawn(|| {
            let mut all: Vec<Vec<u8>> = (0..96 * 1024)
                .map(|i| vec![(i % 251) as u8; 1024])
                .collect();
            let kept: Vec<Vec<u8>> = all.iter_mut().step_by(8).map(std::mem::take).collect();
            drop(all);
            kept
        })
        .join()
        .unwrap_or_default();
        let before = anon_kib();
        assert!(trim(), "there was free memory to give back");
        let after = anon_kib();
        assert!(
            before.saturating_sub(after) >= 20 * 1024,
            "RssAnon {before} KiB -> {after} KiB: less than 20 MiB given back"
        );
        assert_eq!(kept.len(), 12 * 1024);
        assert!(kept.iter().all(|b| b.len() == 1024));
    }
}
