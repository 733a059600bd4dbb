//! What this process's admissions hold between them: the admission lock,
//! the tasks chosen whose lease has not resolved yet (claims), and the count
//! of pool policy calls that failed.
//!
//! The lock only keeps this process's workers from racing one another for
//! the same head task; the store's conditional lease is what a pool's cap
//! rests on (see `admission.rs`).

use std::collections::HashMap;
use std::sync::Mutex as SyncMutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex as AsyncMutex, MutexGuard};
use weft_store_api::PoolView;

/// Admission state shared by every worker.
#[derive(Default)]
pub(crate) struct AdmissionClaims {
    lock: AsyncMutex<()>,
    /// Tasks chosen by an admission whose lease has not resolved yet, by id,
    /// with their pool.
    claimed: SyncMutex<HashMap<u64, String>>,
    /// Policy calls that failed (priority order decided instead).
    policy_failures: AtomicU64,
}

/// A chosen task, hidden from this process's other admissions until dropped
/// (once its lease has resolved, either way).
pub(crate) struct Claim<'a> {
    claims: &'a AdmissionClaims,
    task: u64,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut claimed) = self.claims.claimed.lock() {
            claimed.remove(&self.task);
        }
    }
}

impl AdmissionClaims {
    /// Takes the admission lock.
    pub async fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Claims `task` of `pool` (the admission lock is held).
    pub fn claim(&self, task: u64, pool: &str) -> Claim<'_> {
        if let Ok(mut claimed) = self.claimed.lock() {
            claimed.insert(task, pool.to_owned());
        }
        Claim { claims: self, task }
    }

    /// `view` with the tasks claimed by this process's other admissions moved
    /// from queued to running (they are about to run), and how many more of
    /// `pool`'s tasks are claimed than the view shows.
    pub fn unclaimed(&self, pool: &str, mut view: PoolView) -> (PoolView, usize) {
        let Ok(claimed) = self.claimed.lock() else {
            return (view, 0);
        };
        if claimed.is_empty() {
            return (view, 0);
        }
        let (taken, queued) = std::mem::take(&mut view.queued)
            .into_iter()
            .partition(|t| claimed.contains_key(&t.task));
        view.queued = queued;
        let taken: Vec<_> = taken;
        let of_pool = claimed.values().filter(|p| *p == pool).count();
        let unseen = of_pool.saturating_sub(taken.len());
        view.running.extend(taken);
        (view, unseen)
    }

    /// A pool policy call failed (priority order decided instead).
    pub fn policy_failed(&self) {
        self.policy_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// How many pool policy calls failed since open.
    pub fn policy_failures(&self) -> u64 {
        self.policy_failures.load(Ordering::Relaxed)
    }
}
