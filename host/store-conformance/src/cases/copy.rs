//! `CopyStore`: a redb store with a run of every kind copied into the
//! backend under test keeps every record, every ledger's head, and the
//! target keeps working without colliding with what was copied.

use std::collections::BTreeMap;

use serde_json::json;
use weft_store_api::{
    LockAcquire, RunExport, RunFilter, RunOutcome, SharedStore, StoreError, WorkerSite,
};

use super::copy_source::{self, DAY, Source, join_advance};
use crate::support::{T0, run, task};
use crate::{Backend, RedbBackend};

/// Copies every run of `from` into `to` in pages of `page`, then the rest.
async fn copy_all(from: &SharedStore, to: &SharedStore, page: usize) -> usize {
    let mut after = None;
    let mut copied = 0;
    loop {
        let runs = from.export_runs(after.clone(), page).await.unwrap();
        let Some(last) = runs.last() else { break };
        after = Some(last.id().to_owned());
        for r in runs {
            to.import_run(r).await.unwrap();
            copied += 1;
        }
    }
    to.import_rest(from.export_rest().await.unwrap())
        .await
        .unwrap();
    copied
}

async fn export_all(store: &SharedStore) -> Vec<RunExport> {
    store.export_runs(None, 10_000).await.unwrap()
}

/// The last hash of every run's ledger, checking that each verifies.
async fn heads(store: &SharedStore) -> BTreeMap<String, (u64, String)> {
    let mut out = BTreeMap::new();
    for id in store.run_ids().await.unwrap() {
        let report = store.verify(&id).await.unwrap();
        assert!(report.is_ok(), "run {id} does not verify: {report:?}");
        let ledger = store.ledger(&id).await.unwrap();
        let last = ledger.last().map(|e| e.hash.clone()).unwrap_or_default();
        out.insert(id, (report.events, last));
    }
    out
}

/// Copies a store with every kind of run into this backend (and from it
/// into a fresh redb store again): same runs,
/// same ledgers and heads, same journal, artifacts, outputs, schedules,
/// locks and costs; a second copy changes nothing; a different run under a
/// copied id is refused; the target goes on (leases above the copied
/// tokens, a new run id and task ids that do not collide, the in-flight run
/// finishes).
pub async fn a_copied_store_verifies_and_keeps_working(b: &dyn Backend) {
    let source_backend = RedbBackend::new();
    let Source {
        store: src,
        in_flight,
        retried_task,
        leased_run,
        leased_task,
    } = copy_source::build(source_backend.fresh().await.0).await;
    let (dst, _) = b.fresh().await;

    let copied = copy_all(&src, &dst, 2).await;
    assert_eq!(copied, src.run_ids().await.unwrap().len());
    assert_eq!(copied, 7);

    // Every run with everything that belongs to it, byte for byte.
    let source_runs = export_all(&src).await;
    assert_eq!(export_all(&dst).await, source_runs);
    let source_heads = heads(&src).await;
    assert_eq!(heads(&dst).await, source_heads);
    let mut ids = dst.run_ids().await.unwrap();
    ids.sort();
    let mut src_ids = src.run_ids().await.unwrap();
    src_ids.sort();
    assert_eq!(ids, src_ids);
    for id in &ids {
        assert_eq!(
            dst.run_get(id).await.unwrap(),
            src.run_get(id).await.unwrap()
        );
        assert_eq!(
            dst.tasks_of(id).await.unwrap(),
            src.tasks_of(id).await.unwrap()
        );
        assert_eq!(
            dst.step_outputs(id).await.unwrap(),
            src.step_outputs(id).await.unwrap()
        );
        assert_eq!(
            dst.artifact_list(id).await.unwrap(),
            src.artifact_list(id).await.unwrap()
        );
        assert_eq!(
            dst.run_cost(id).await.unwrap(),
            src.run_cost(id).await.unwrap()
        );
    }
    assert_eq!(
        dst.journal_get(&in_flight, "left", 1).await.unwrap(),
        Some(json!("second"))
    );
    assert_eq!(
        dst.artifact_get(&in_flight, "report.md").await.unwrap(),
        Some(json!("# hi"))
    );
    assert_eq!(
        dst.idempotency_get("key-ok").await.unwrap(),
        src.idempotency_get("key-ok").await.unwrap()
    );
    assert!(dst.idempotency_get("key-ok").await.unwrap().is_some());
    assert_eq!(dst.dlq_list().await.unwrap(), src.dlq_list().await.unwrap());
    assert_eq!(dst.dlq_list().await.unwrap().len(), 1);
    assert_eq!(
        dst.lease_of(leased_task).await.unwrap(),
        src.lease_of(leased_task).await.unwrap()
    );
    // What belongs to no run.
    assert_eq!(
        dst.export_rest().await.unwrap(),
        src.export_rest().await.unwrap()
    );
    assert_eq!(
        dst.schedules_list().await.unwrap(),
        src.schedules_list().await.unwrap()
    );
    assert_eq!(dst.schedules_list().await.unwrap()[0].fires, 1);
    assert_eq!(
        dst.locks_list(T0 + 30).await.unwrap(),
        src.locks_list(T0 + 30).await.unwrap()
    );
    assert_eq!(
        dst.costs("", None).await.unwrap(),
        src.costs("", None).await.unwrap()
    );
    assert_eq!(dst.costs("", None).await.unwrap().len(), 1);
    assert_eq!(
        dst.tenant_day_cost("2026-11-22", "acme").await.unwrap(),
        1_500
    );
    assert_eq!(dst.pool_day_cost("2026-11-22", "p").await.unwrap(), 1_500);
    assert_eq!(
        dst.overrides().await.unwrap(),
        src.overrides().await.unwrap()
    );
    // The target's change feed names every copied run once.
    let changes = dst.changes_since(0, 1_000).await.unwrap();
    let mut changed: Vec<String> = changes.iter().map(|c| c.run_id.clone()).collect();
    changed.sort();
    assert_eq!(changed, ids);

    // A resumed copy is a no-op; another run under a copied id is refused.
    assert_eq!(copy_all(&src, &dst, 3).await, copied);
    assert_eq!(export_all(&dst).await, source_runs);
    assert_eq!(
        dst.changes_since(0, 1_000).await.unwrap().len(),
        changes.len()
    );
    let mut other = source_runs[0].clone();
    other.run.input = json!({"n": 2});
    let refused = dst.import_run(other).await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );

    keeps_working(
        &src,
        &dst,
        &in_flight,
        retried_task,
        &leased_run,
        leased_task,
    )
    .await;
}

/// The target after the copy: the in-flight run finishes, a held lease runs
/// out and is leased again with a greater token, new ids are new.
async fn keeps_working(
    src: &SharedStore,
    dst: &SharedStore,
    in_flight: &str,
    retried_task: u64,
    leased_run: &str,
    leased_task: u64,
) {
    let copied_token = |id: u64| async move { src.task_get(id).await.unwrap().unwrap().last_token };
    let max_task = {
        let mut max = 0;
        for id in src.run_ids().await.unwrap() {
            for t in src.tasks_of(&id).await.unwrap() {
                max = max.max(t.id);
            }
        }
        max
    };
    let now = T0 + 2 * 60_000;
    dst.promote_and_expire(now).await.unwrap();
    let pools = vec!["p".to_owned()];
    let mut leased = Vec::new();
    while let Some(l) = dst
        .lease("w2", Some(&pools), 60_000, WorkerSite::Remote, now)
        .await
        .unwrap()
    {
        assert!(l.token > copied_token(l.task).await, "{l:?}");
        leased.push(l);
    }
    let tasks: Vec<u64> = leased.iter().map(|l| l.task).collect();
    assert!(
        tasks.contains(&retried_task) && tasks.contains(&leased_task),
        "{tasks:?}"
    );
    for l in &leased {
        if l.run == leased_run {
            let out = RunOutcome::Succeeded { output: json!(1) };
            dst.complete(l.task, l.token, json!(1), vec![], Some(out), now + 1)
                .await
                .unwrap();
        } else {
            assert_eq!(l.run, in_flight);
            let done = dst
                .complete_step(l.task, l.token, json!({"r": 2}), join_advance(), now + 1)
                .await
                .unwrap();
            assert_eq!(done.enqueued.len(), 1);
            assert!(done.enqueued[0] > max_task, "a new task id collides");
        }
    }
    let join = dst
        .lease("w2", Some(&pools), 60_000, WorkerSite::Remote, now + 2)
        .await
        .unwrap()
        .unwrap();
    let done = dst
        .complete_step(
            join.task,
            join.token,
            json!({"j": 3}),
            join_advance(),
            now + 3,
        )
        .await
        .unwrap();
    assert!(done.run_output.is_some());
    let run_done = dst.run_get(in_flight).await.unwrap().unwrap();
    assert_eq!(run_done.status.as_str(), "succeeded");
    assert!(dst.verify(in_flight).await.unwrap().is_ok());
    assert!(dst.verify(leased_run).await.unwrap().is_ok());
    // A new run gets an id of its own, on the copied runs' day.
    let copied: Vec<String> = src.run_ids().await.unwrap();
    let new = dst
        .submit_run(run(vec![task("a", "p", 0)]), T0 + 5)
        .await
        .unwrap();
    assert!(!copied.contains(&new.run_id), "{} collides", new.run_id);
    let new_tasks = dst.tasks_of(&new.run_id).await.unwrap();
    assert!(new_tasks[0].id > max_task);
    // A new lock's token is above every copied lock's.
    let copied_locks = src.locks_list(T0 + 30).await.unwrap();
    let top = copied_locks.iter().map(|l| l.token).max().unwrap();
    match dst
        .lock_acquire("other", "ops", DAY, T0 + 30)
        .await
        .unwrap()
    {
        LockAcquire::Acquired { lock, .. } => assert!(lock.token > top, "{lock:?}"),
        held @ LockAcquire::Held { .. } => panic!("{held:?}"),
    }
    let filter = RunFilter::default();
    assert_eq!(
        dst.runs_list(100, &filter).await.unwrap().len(),
        copied.len() + 1
    );
}
