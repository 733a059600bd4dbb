//! The store contract's conformance suite: test cases written once against
//! the traits (`weft_store_api`) and run on every backend.
//!
//! A backend's test file implements [`Backend`] (a fresh store, and the same
//! store opened again) and calls [`conformance_tests!`], which generates one
//! `#[tokio::test]` per case, named after it, so a failure names the case:
//!
//! ```ignore
//! async fn backend() -> MyBackend { MyBackend::new().await }
//! weft_store_conformance::conformance_tests!(backend);
//! ```
//!
//! The cases are ported from the redb store's own tests (`host/store-redb/tests`)
//! where those exist; [`RedbBackend`] runs them on redb, and the ledger case
//! compares every backend's bytes with redb's.

pub mod cases;
mod redb_backend;
pub mod support;

pub use redb_backend::RedbBackend;

use weft_store_api::SharedStore;

/// A store backend under test.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// A fresh, empty store and the id to open it again with.
    async fn fresh(&self) -> (SharedStore, String);

    /// The store `id` opened again (after the caller closed and dropped every
    /// handle of it, for a backend that allows one owner at a time).
    async fn reopen(&self, id: &str) -> SharedStore;

    /// Another handle on the same store while the first is open (another
    /// process's view), if the backend allows one; `None` for an embedded
    /// store with one owner.
    async fn second_handle(&self, id: &str) -> Option<SharedStore>;
}

/// Generates one `#[tokio::test]` per conformance case, each calling the
/// case with the backend that `$make().await` builds.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@cases $make;
            submit_and_read_back,
            runs_page_by_cursor_and_time,
            idempotency_keys_name_one_run,
            run_ids_count_per_prefix_and_utc_day,
            concurrent_submits_with_one_key_create_one_run,
            cancel_ends_a_run_and_its_tasks,
            journal_artifacts_and_tool_calls,
            writes_survive_a_reopen,
            leases_follow_priority_ready_time_and_id,
            stale_tokens_are_refused_and_recorded,
            a_lease_past_its_expiry_is_refused_and_handed_back,
            expired_leases_are_handed_back_and_due_times_reported,
            concurrent_conditional_leases_never_pass_the_cap,
            a_tenant_behind_a_flood_is_a_candidate,
            a_full_or_rate_limited_pool_refuses_and_writes_nothing,
            concurrent_branches_enqueue_the_join_exactly_once,
            the_last_step_finishes_the_run,
            a_skipped_step_counts_as_ended,
            a_failed_step_lets_the_run_go_on_and_fail,
            a_run_can_wait_to_start,
            complete_step_and_lease_is_one_decision,
            cancels_race_leases_and_completions,
            retries_then_a_failed_run,
            dead_letters_requeue_and_purge,
            ledger_bytes_match_redb,
            every_ledger_append_is_one_change_in_order,
            a_follower_never_sees_a_gap,
            commits_move_on_every_write,
            queue_views_name_what_the_next_lease_takes,
            a_cron_fire_fires_once,
            concurrent_ticks_of_one_fire_create_one_run,
            pause_resume_trigger_and_retain,
            locks_fence_and_expire,
            of_concurrent_lock_acquires_exactly_one_wins,
            a_charge_is_made_once_with_its_answer,
            concurrent_reservations_admit_exactly_what_fits,
            submits_into_a_full_strict_pool_are_refused,
            random_operations_agree_with_redb,
            a_copied_store_verifies_and_keeps_working,
            signed_heads_are_kept_by_run_and_seq,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let backend = $make().await;
                $crate::cases::$case(&backend).await;
            }
        )*
    };
}
