//! A generated corpus of runs written through the real store: what each run
//! is, so that tests can compute the expected answers without the index.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeSet;
use weft_store_api::WorkerSite;

use serde_json::json;
use weft_store_api::{FailDecision, NewRun, NewTask, RunOutcome, Store};

/// 2026-11-22T00:00:00Z in ms.
pub const T0: u64 = 1_795_305_600_000;
/// Runs are submitted one minute apart.
pub const STEP_MS: u64 = 60_000;

pub const FLOWS: [&str; 3] = ["billing", "shipping", "refunds"];
pub const TENANTS: [&str; 2] = ["acme", "globex"];
pub const CUSTOMERS: [&str; 7] = ["alice", "bob", "carol", "dmitri", "erin", "farouk", "gwen"];
/// Error texts: no word here appears in any input or output.
pub const ERRORS: [&str; 4] = [
    "timeout talking to the bank",
    "card declined by issuer",
    "declined card limit reached",
    "ledger locked for maintenance",
];

/// What the generator made one run into.
#[derive(Debug, Clone)]
pub struct Gen {
    pub id: String,
    pub flow: &'static str,
    pub tenant: &'static str,
    pub customer: &'static str,
    /// `succeeded`, `failed`, `queued` or `running`.
    pub status: &'static str,
    pub created_ms: u64,
    pub error: Option<&'static str>,
}

fn new_run(i: u64, flow: &str, tenant: &str, customer: &str, pool: &str) -> NewRun {
    NewRun {
        flow_id: flow.into(),
        flow_version: "1".into(),
        tenant: tenant.into(),
        input: json!({"customer": customer, "order": format!("ord{i}"), "note": "please handle with care"}),
        priority: 0,
        idempotency_key: None,
        id_prefix: tenant.into(),
        not_before: None,
        initial_tasks: vec![NewTask {
            step_id: "charge".into(),
            pool: pool.into(),
            priority: 0,
        }],
    }
}

/// Writes runs `from..to` of the corpus into `store`.
pub async fn generate(store: &dyn Store, from: u64, to: u64) -> Vec<Gen> {
    let work = vec!["work".to_owned()];
    let mut out = Vec::new();
    for i in from..to {
        let flow = FLOWS[(i % 3) as usize];
        let tenant = TENANTS[((i / 3) % 2) as usize];
        let customer = CUSTOMERS[(i % 7) as usize];
        let created_ms = T0 + i * STEP_MS;
        let kind = i % 4;
        let pool = if kind == 2 { "idle" } else { "work" };
        let sub = store
            .submit_run(new_run(i, flow, tenant, customer, pool), created_ms)
            .await
            .unwrap();
        let mut g = Gen {
            id: sub.run_id,
            flow,
            tenant,
            customer,
            status: "queued",
            created_ms,
            error: None,
        };
        if kind != 2 {
            let lease = store
                .lease(
                    "gen",
                    Some(&work),
                    1_000_000_000,
                    WorkerSite::Remote,
                    created_ms + 10,
                )
                .await
                .unwrap()
                .unwrap();
            assert_eq!(lease.run, g.id);
            let done = created_ms + 1_000;
            match kind {
                0 => {
                    let output =
                        json!({"summary": format!("charged {customer} for ord{i}"), "amount": i});
                    store
                        .complete(
                            lease.task,
                            lease.token,
                            output.clone(),
                            vec![],
                            Some(RunOutcome::Succeeded { output }),
                            done,
                        )
                        .await
                        .unwrap();
                    g.status = "succeeded";
                }
                1 => {
                    let error = ERRORS[((i / 4) % 4) as usize];
                    let decision = FailDecision::FailRun {
                        reason: error.into(),
                    };
                    store
                        .fail(lease.task, lease.token, error, decision, None, done)
                        .await
                        .unwrap();
                    g.status = "failed";
                    g.error = Some(error);
                }
                _ => g.status = "running",
            }
        }
        out.push(g);
    }
    out
}

/// The ids of the runs for which `keep` holds.
pub fn ids(corpus: &[Gen], keep: impl Fn(&Gen) -> bool) -> BTreeSet<String> {
    corpus
        .iter()
        .filter(|g| keep(g))
        .map(|g| g.id.clone())
        .collect()
}
