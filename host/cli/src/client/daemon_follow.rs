//! `weft runs resume` through a daemon: the daemon's workers already run every
//! ready task, so the daemon hands back the leases that ran out at once
//! (`POST /v1/runs/{id}/resume`) and the client follows the run's ledger
//! (`GET /v1/runs/{id}/events?after=SEQ&wait=S`) until it settles, turning its
//! events into the progress `weft run` shows.

use anyhow::Result;
use serde::Deserialize;
use weft_engine::HeldLease;
use weft_store_api::RunStatus;

use super::daemon::DaemonApi;
use super::http::{field, segment};
use super::{Outcome, Resuming, ShowProgress, WeftClient};
use crate::commands::ledger_progress::LedgerProgress;
use crate::commands::state::now_ms;

/// How long one long-poll of the daemon waits for an event (short enough that a
/// stopping daemon, which lets requests finish, is not held up for long).
pub(crate) const FOLLOW_WAIT_SECS: u64 = 10;

/// A lease the daemon says the run waits for (`leases_held` of `POST
/// /v1/runs/{id}/resume`).
#[derive(Debug, Deserialize)]
struct RemoteHeld {
    task: u64,
    step: String,
    owner: String,
    expires_in_ms: u64,
}

impl DaemonApi {
    /// Asks the daemon to resume run `id`: where its ledger stands, whether it
    /// can go on, and the leases it waits for.
    pub(super) fn begin_resume(&self, id: &str) -> Result<Resuming> {
        let path = format!("/v1/runs/{}/resume", segment(id));
        let answer = self.daemon.post(&path, None)?.1;
        let after: u64 = field(&answer, "last_seq")?;
        let status: RunStatus = field(&answer, "status")?;
        let moving = !status.is_final() && field::<u64>(&answer, "open_tasks")? > 0;
        // The daemon's clock decides when a lease runs out: count from its answer.
        let now = now_ms();
        let held: Vec<RemoteHeld> = answer
            .get("leases_held")
            .cloned()
            .map(serde_json::from_value)
            .transpose()?
            .unwrap_or_default();
        let held = held
            .into_iter()
            .map(|h| HeldLease {
                task: h.task,
                step: h.step,
                owner: h.owner,
                expires_ms: now.saturating_add(h.expires_in_ms),
            })
            .collect();
        Ok(Resuming {
            run: id.to_owned(),
            place: format!("on the daemon at {}", self.daemon.url()),
            held,
            now_ms: now,
            after,
            moving,
        })
    }

    /// Shows the run's progress from its ledger until it has finished or has
    /// no open task left (a dead-lettered step waits for an operator); then
    /// its outcome.
    pub(super) async fn follow_resume(
        &self,
        resuming: &Resuming,
        show: &ShowProgress,
    ) -> Result<Outcome> {
        let run = &resuming.run;
        let (mut after, mut moving) = (resuming.after, resuming.moving);
        let mut progress = LedgerProgress::default();
        while moving {
            let page = self.run_events(run, after, FOLLOW_WAIT_SECS).await?;
            for event in &page.events {
                after = event.seq;
                if let Some(shown) = progress.event(run, event) {
                    show(&shown);
                }
            }
            moving = !page.status.is_final() && page.open_tasks > 0;
        }
        let record = self.run(run).await?;
        let verify = self.verify(run).await?;
        let dead = self
            .dlq_list(None, None)
            .await?
            .into_iter()
            .filter(|d| d.run == record.id)
            .collect();
        Ok(Outcome {
            run: record,
            verify,
            dead,
        })
    }
}
