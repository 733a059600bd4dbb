//! `fair-share`: a pool policy that shares free slots round-robin across tenants,
//! the least loaded tenant first.
//!
//! A tenant's load is its running tasks (`state.active_by_tenant`) plus the tasks
//! admitted so far in this call, divided by its weight (config `{"weights":
//! {"tenant": 2}}`, default 1). Each slot goes to the tenant with the lowest load
//! (ties: its best task's priority desc, then ready-at asc, then tenant name);
//! within a tenant, tasks go by priority desc, then ready-at asc, then task id.
//! `select` cannot report an error, so a weight that is not a positive number is
//! ignored (weight 1), as is a malformed config.

wit_bindgen::generate!({ world: "pool-plugin", path: "../../wit" });

use exports::weft::plugin::pool_policy::Guest;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};
use weft::plugin::types::{Candidate, PoolState};

struct FairShare;

struct Tenant {
    /// Waiting tasks, best first.
    queue: VecDeque<Candidate>,
    active: f64,
    weight: f64,
}

impl Tenant {
    fn load(&self) -> f64 {
        self.active / self.weight
    }
}

fn weights(config: &str) -> BTreeMap<String, f64> {
    let config: Value = serde_json::from_str(config).unwrap_or(Value::Null);
    let Some(Value::Object(weights)) = config.get("weights") else {
        return BTreeMap::new();
    };
    weights
        .iter()
        .filter_map(|(t, w)| Some((t.clone(), w.as_f64().filter(|w| w.is_finite() && *w > 0.0)?)))
        .collect()
}

fn by_priority(a: &Candidate, b: &Candidate) -> Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.ready_at_ms.cmp(&b.ready_at_ms))
        .then_with(|| a.task_id.cmp(&b.task_id))
}

impl Guest for FairShare {
    fn select(config: String, state: PoolState, mut candidates: Vec<Candidate>) -> Vec<String> {
        let weights = weights(&config);
        candidates.sort_by(by_priority);
        let mut tenants: BTreeMap<String, Tenant> = BTreeMap::new();
        for c in candidates {
            let tenant = tenants.entry(c.tenant.clone()).or_insert_with(|| Tenant {
                queue: VecDeque::new(),
                active: state
                    .active_by_tenant
                    .iter()
                    .filter(|l| l.tenant == c.tenant)
                    .map(|l| f64::from(l.active))
                    .sum(),
                weight: weights.get(&c.tenant).copied().unwrap_or(1.0),
            });
            tenant.queue.push_back(c);
        }

        let mut admitted = Vec::new();
        while admitted.len() < state.free_slots as usize {
            // BTreeMap order makes the tenant name the last tie-break.
            let next = tenants
                .values_mut()
                .filter(|t| !t.queue.is_empty())
                .min_by(|a, b| {
                    a.load().total_cmp(&b.load()).then_with(|| {
                        match (a.queue.front(), b.queue.front()) {
                            (Some(x), Some(y)) => by_priority(x, y),
                            _ => Ordering::Equal,
                        }
                    })
                });
            let Some(tenant) = next else { break };
            if let Some(c) = tenant.queue.pop_front() {
                tenant.active += 1.0;
                admitted.push(c.task_id);
            }
        }
        admitted
    }
}

export!(FairShare);
