//! A state folder holding one finished run written straight to the redb store,
//! for the tests that tamper with its ledger (`verify_tamper.rs`,
//! `verify_signed.rs`).

use std::path::Path;

use serde_json::json;
use weft_store_api::prelude::*;
use weft_store_api::{LedgerSigner, NewRun, NewTask, RunOutcome, WorkerSite};
use weft_store_redb::RedbStore;

/// 2026-11-22T00:00:00Z in ms.
pub const T0: u64 = 1_795_305_600_000;

/// Writes into `dir` one run that succeeded (its ledger: created, started,
/// artifact-put of `artifact`, step-succeeded, run-succeeded), its head signed
/// with `signer` if given; its id.
pub fn finished_run(dir: &Path, artifact: &str, signer: Option<&LedgerSigner>) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = RedbStore::open(dir.join("weft.redb")).unwrap();
        let new = NewRun {
            flow_id: "demo".into(),
            flow_version: "1".into(),
            tenant: "acme".into(),
            input: json!({"n": 1}),
            priority: 0,
            idempotency_key: None,
            id_prefix: "acme".into(),
            not_before: None,
            initial_tasks: vec![NewTask {
                step_id: "a".into(),
                pool: "p".into(),
                priority: 0,
            }],
        };
        let run = store.submit_run(new, T0).await.unwrap().run_id;
        let lease = store
            .lease("w", None, 60_000, WorkerSite::Remote, T0)
            .await
            .unwrap()
            .unwrap();
        store
            .artifact_put(&run, artifact, json!({"amount": 100}), T0)
            .await
            .unwrap();
        let output = json!({"amount": 100});
        let outcome = RunOutcome::Succeeded {
            output: output.clone(),
        };
        store
            .complete(
                lease.task,
                lease.token,
                output,
                vec![],
                Some(outcome),
                T0 + 1,
            )
            .await
            .unwrap();
        if let Some(signer) = signer {
            let head = store.ledger(&run).await.unwrap().pop().unwrap();
            let sig = signer.sign(&run, head.seq, &head.hash, T0 + 2).unwrap();
            store.put_head_signature(sig).await.unwrap();
        }
        store.close().await;
        run
    })
}
