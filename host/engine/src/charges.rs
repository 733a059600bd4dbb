//! The model-call charges this engine committed since `open`, per (tenant,
//! pool, model), kept in memory: what the daemon's `weft_cost_usd_total` adds
//! to the store's totals it read once at start, so that a scrape reads no
//! cost table.
//!
//! A charge is counted once the store has committed it with its journaled
//! answer (`host.rs`), in the task that commits it, so a call dropped meanwhile
//! (a lost lease) whose charge still commits is counted too; a journal replay
//! is never charged and never counted.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// What the charges of one (tenant, pool, model) add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeTotal {
    /// The tenant of the runs.
    pub tenant: String,
    /// The pool of the tasks.
    pub pool: String,
    /// The model, by its name in `weft.yaml`.
    pub model: String,
    /// Micro-dollars charged.
    pub micro_usd: u64,
}

/// The charges committed since `open`: (tenant, pool, model) → micro-dollars.
#[derive(Debug, Default)]
pub(crate) struct Charges {
    totals: Mutex<BTreeMap<(String, String, String), u64>>,
}

impl Charges {
    /// Adds a committed charge of `micro_usd` to (`tenant`, `pool`, `model`).
    pub fn add(&self, tenant: &str, pool: &str, model: &str, micro_usd: u64) {
        let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (tenant.to_owned(), pool.to_owned(), model.to_owned());
        let total = totals.entry(key).or_default();
        *total = total.saturating_add(micro_usd);
    }

    /// Every total, sorted by tenant, pool and model.
    pub fn snapshot(&self) -> Vec<ChargeTotal> {
        self.totals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|((tenant, pool, model), micro_usd)| ChargeTotal {
                tenant: tenant.clone(),
                pool: pool.clone(),
                model: model.clone(),
                micro_usd: *micro_usd,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Charges;

    #[test]
    fn charges_add_up_per_tenant_pool_and_model() {
        let charges = Charges::default();
        charges.add("acme", "default", "gpt", 1_500);
        charges.add("acme", "default", "gpt", 2_500);
        charges.add("beta", "default", "gpt", 7);
        let totals: Vec<(String, u64)> = charges
            .snapshot()
            .into_iter()
            .map(|t| (t.tenant, t.micro_usd))
            .collect();
        assert_eq!(totals, [("acme".into(), 4_000), ("beta".into(), 7)]);
    }
}
