//! The invariants the simulator checks between actions.

use std::collections::BTreeMap;

use weft_store_api::RunStatus;

use super::world::{POOL, POOL_CAP, TINY, TINY_BUDGET_MICRO, World};

impl World {
    /// Cheap checks, after every action: a pool never holds more live leases
    /// than its cap (the workers' leases and those dropped without a word),
    /// and the tenant with a budget never spent more than it.
    pub async fn check_cheap(&mut self) {
        let now = self.now();
        self.ghosts.retain(|(_, expires)| *expires > now);
        let held = self
            .workers
            .iter()
            .filter_map(|w| w.held.as_ref())
            .filter(|h| h.expires_ms > now)
            .count();
        let ghosts = self.ghosts.iter().filter(|(p, _)| p == POOL).count();
        if held + ghosts > POOL_CAP {
            self.fail(&format!(
                "pool {POOL} holds {held} + {ghosts} live leases, over its cap of {POOL_CAP}"
            ));
        }
        let spent = self.engine().tenant_spent_today(TINY).await;
        let spent = spent
            .unwrap_or_else(|e| self.fail(&format!("reading spend: {e}")))
            .micros();
        if spent > TINY_BUDGET_MICRO {
            self.fail(&format!(
                "tenant {TINY} spent {spent} µ$ today, over its budget of {TINY_BUDGET_MICRO}"
            ));
        }
    }

    /// Full checks (every few actions, after a crash and at the end): every
    /// acknowledged run exists; every ledger verifies; no step's success is
    /// recorded twice, and every acknowledged one is recorded; a cron fire
    /// made at most one run.
    pub async fn check_full(&mut self) {
        let store = self.engine().store().clone();
        let runs: Vec<String> = self.acked.runs.keys().cloned().collect();
        for run in &runs {
            let record = store.run_get(run).await;
            let record = record.unwrap_or_else(|e| self.fail(&format!("reading {run}: {e}")));
            if record.is_none() {
                self.fail(&format!("acknowledged run {run} is gone"));
            }
            let report = store.verify(run).await;
            let report = report.unwrap_or_else(|e| self.fail(&format!("verifying {run}: {e}")));
            if !report.is_ok() {
                self.fail(&format!("the ledger of {run} does not verify: {report:?}"));
            }
            let ledger = store.ledger(run).await;
            let ledger = ledger.unwrap_or_else(|e| self.fail(&format!("ledger of {run}: {e}")));
            let mut succeeded: BTreeMap<String, usize> = BTreeMap::new();
            for event in ledger.iter().filter(|e| e.kind == "step-succeeded") {
                let step = event.payload["step"].as_str().unwrap_or_default();
                *succeeded.entry(step.to_owned()).or_default() += 1;
            }
            if let Some((step, n)) = succeeded.iter().find(|(_, n)| **n > 1) {
                self.fail(&format!("step {step} of {run} succeeded {n} times"));
            }
            for (acked_run, step) in &self.acked.completed {
                if acked_run == run && !succeeded.contains_key(step) {
                    self.fail(&format!(
                        "the acknowledged success of {run}.{step} is not in its ledger"
                    ));
                }
            }
        }
        let stored = store.run_ids().await;
        let stored = stored.unwrap_or_else(|e| self.fail(&format!("listing runs: {e}")));
        let mut cron_runs = 0;
        for id in &stored {
            let record = store.run_get(id).await.ok().flatten();
            if record.is_some_and(|r| r.flow_id == "nightly") {
                cron_runs += 1;
            }
        }
        if cron_runs != self.acked.fires.len() {
            self.fail(&format!(
                "{cron_runs} runs of the cron flow, for {} fires",
                self.acked.fires.len()
            ));
        }
    }

    /// Whether every acknowledged run has ended.
    pub async fn all_ended(&self) -> bool {
        let store = self.engine().store();
        for run in self.acked.runs.keys() {
            let status = store.run_get(run).await.ok().flatten().map(|r| r.status);
            if !status.is_some_and(RunStatus::is_final) {
                return false;
            }
        }
        true
    }
}
