//! Crash consistency: a child process (this test binary, re-invoked) writes as
//! fast as it can and prints every acknowledgement; the parent kills it with
//! SIGKILL mid-stream, reopens the file and checks that every acknowledged
//! operation is there and every ledger verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::{RunOutcome, RunStatus, TaskState};
use weft_store_redb::RedbStore;

const CHILD_ENV: &str = "WEFT_STORE_CRASH_CHILD";
const ACKS_BEFORE_KILL: usize = 300;

/// The child: does nothing unless started by `acknowledged_ops_survive_sigkill`.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let store = RedbStore::open(&path).unwrap();
        // One lease held until the kill, so some task always comes back.
        store
            .submit_run(run(vec![task("held", "p", 9)]), T0)
            .await
            .unwrap();
        let held = store
            .lease("holder", None, 60_000, WorkerSite::InProcess, T0)
            .await;
        let held = held.unwrap().unwrap();
        ack(&format!("LEASE {} {}", held.task, held.token));
        let mut workers = Vec::new();
        for w in 0..6u64 {
            let store = store.clone();
            workers.push(tokio::spawn(async move {
                for i in 0u64.. {
                    let now = T0 + i;
                    let sub = store
                        .submit_run(run(vec![task("a", "p", 0), task("b", "p", 1)]), now)
                        .await
                        .unwrap();
                    ack(&format!("RUN {}", sub.run_id));
                    let owner = format!("w{w}");
                    let Some(l) = store
                        .lease(&owner, None, 60_000, WorkerSite::InProcess, now)
                        .await
                        .unwrap()
                    else {
                        continue;
                    };
                    // Volatile: may be lost; its token must never be handed out again.
                    ack(&format!("LEASE {} {}", l.task, l.token));
                    store
                        .journal_put(&l.run, &l.step, 0, json!({"w": w, "i": i}), now)
                        .await
                        .unwrap();
                    ack(&format!("JOURNAL {} {}", l.run, l.step));
                    let outcome = (i % 2 == 0).then(|| RunOutcome::Succeeded { output: json!(i) });
                    if store
                        .complete(l.task, l.token, json!({"i": i}), vec![], outcome, now)
                        .await
                        .is_ok()
                    {
                        ack(&format!("DONE {} {}", l.task, l.run));
                    }
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
    });
}

fn ack(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ACK {line}").unwrap();
    out.flush().unwrap();
}

#[tokio::test]
async fn acknowledged_ops_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acks = Vec::new();
    while acks.len() < ACKS_BEFORE_KILL {
        let Some(line) = lines.next() else { break };
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            acks.push(rest.to_owned());
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    // Acks printed before the kill landed are acknowledged too.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(rest) = line.strip_prefix("ACK ") {
            acks.push(rest.to_owned());
        }
    }
    child.wait().unwrap();
    assert!(
        acks.len() >= ACKS_BEFORE_KILL,
        "child stopped early: {acks:?}"
    );

    let store = RedbStore::open(&path).unwrap();
    let (mut runs, mut journals, mut done) = (0, 0, 0);
    let mut leased: std::collections::BTreeMap<u64, u64> = Default::default();
    for a in &acks {
        let parts: Vec<&str> = a.split(' ').collect();
        match parts.as_slice() {
            ["RUN", id] => {
                assert!(
                    store.run_get(id).await.unwrap().is_some(),
                    "acked run {id} lost"
                );
                runs += 1;
            }
            ["JOURNAL", run, step] => {
                assert!(
                    store.journal_get(run, step, 0).await.unwrap().is_some(),
                    "journal lost"
                );
                journals += 1;
            }
            ["LEASE", task, token] => {
                let token: u64 = token.parse().unwrap();
                let max = leased.entry(task.parse().unwrap()).or_default();
                *max = (*max).max(token);
            }
            ["DONE", task, run] => {
                let t = store
                    .task_get(task.parse().unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(t.state, TaskState::Done, "acked completion of {task} lost");
                assert!(
                    store
                        .step_outputs(run)
                        .await
                        .unwrap()
                        .contains_key(&t.step_id)
                );
                done += 1;
            }
            other => panic!("unexpected ack {other:?}"),
        }
    }
    assert!(runs > 0 && journals > 0 && done > 0);
    let all = store
        .runs_list(usize::MAX, &Default::default())
        .await
        .unwrap();
    assert!(all.len() >= runs);
    for r in &all {
        let report = store.verify(&r.id).await.unwrap();
        assert!(
            report.is_ok(),
            "{} does not verify: {:?}",
            r.id,
            report.first_bad
        );
        if r.status == RunStatus::Succeeded {
            assert!(r.output.is_some());
        }
    }
    // Every lease the child held (lost or not) comes back with a new token.
    store.expire_leases(u64::MAX / 2).await.unwrap();
    let mut reissued = 0;
    while let Some(l) = store
        .lease("after", None, 1_000, WorkerSite::Remote, u64::MAX / 2)
        .await
        .unwrap()
    {
        if let Some(old) = leased.get(&l.task) {
            assert!(l.token > *old, "task {} token {} reissued", l.task, l.token);
            reissued += 1;
        }
    }
    assert!(reissued > 0, "the held lease came back");
    // The store keeps working after recovery.
    let after = store
        .submit_run(run(vec![task("a", "p", 0)]), T0)
        .await
        .unwrap();
    assert!(after.created);
}
