//! `weft dlq purge` on the state folder ends a run the way a daemon's purge
//! does (`Engine::dlq_purge`): the run fails in the purge's commit and its
//! ledger head is signed with weft.yaml's key, so `weft runs verify
//! --public-key` finds the head signed rather than an unsigned tail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;

use common::{text, weft};
use serde_json::Value;
use weft_tests::plugin_path;

/// A project whose one step dead-letters, signing run heads with a key made
/// by `weft ledger keygen`.
fn signing_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    for name in ["prompt", "mock-model", "exp-backoff"] {
        std::fs::copy(plugin_path(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    let out = weft(dir, &["ledger", "keygen", "--out", "ledger.key"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: sig\nledger: { signing_key: ledger.key }\nplugins:\n  \
         prompt: { path: plugins/prompt.wasm, kind: step }\n  \
         mock-model: { path: plugins/mock-model.wasm, kind: model }\n  \
         exp-backoff: { path: plugins/exp-backoff.wasm, kind: retry }\n\
         models:\n  flaky: { adapter: mock-model, config: { fail: permanent } }\n\
         defaults:\n  retry: { strategy: exp-backoff, max_attempts: 3 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/ask.yaml"),
        "id: ask\nsteps:\n  ask:\n    uses: prompt\n    model: flaky\n    with:\n      template: Say hi.\n",
    )
    .unwrap();
}

#[test]
fn a_local_purge_that_ends_a_run_signs_its_ledger_head() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    signing_project(dir);
    let out = weft(dir, &["run", "ask", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "dead-lettered", "{report}");
    let run = report["run_id"].as_str().unwrap().to_owned();

    let out = weft(dir, &["dlq", "purge", &run, "--yes", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let purged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(purged[0]["purged"], true, "{purged}");

    let out = weft(dir, &["runs", "status", &run, "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "failed", "{status}");

    let args = ["runs", "verify", &run, "--public-key", "ledger.key.pub"];
    let out = weft(dir, &[&args[..], &["--json"]].concat());
    let verdict: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", text(&out.stderr)));
    assert!(out.status.success(), "{verdict}");
    assert_eq!(verdict["signature"]["state"], "signed", "{verdict}");
    assert_eq!(
        verdict["signature"]["signed_seq"], verdict["events"],
        "{verdict}"
    );
}
