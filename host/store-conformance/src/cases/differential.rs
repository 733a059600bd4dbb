//! Differential: the same random operations on the backend under test and on
//! redb (the reference), comparing every answer and, after each operation,
//! the queue, every task and the counters; at the end every ledger. Ported
//! from the redb store's model test (`host/store-redb/tests/model.rs`), with redb
//! itself as the model.

use serde_json::json;
use weft_store_api::{
    Advance, FailDecision, Lease, NextCandidate, SharedStore, StepEnd, StoreError, TaskRecord,
    WorkerSite,
};

use crate::support::{T0, run, task};
use crate::{Backend, RedbBackend};

/// xorshift64*: small, deterministic, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

const POOLS: [&str; 3] = ["a", "b", "c"];

/// An answer, with what differs between stores by design (run ids end in
/// random letters) left out.
fn answer<T>(r: &Result<T, StoreError>, show: impl Fn(&T) -> String) -> String {
    match r {
        Ok(v) => format!("ok {}", show(v)),
        Err(e) => format!("err {}", kind(e)),
    }
}

/// The variant of an error and what it says about the task.
fn kind(e: &StoreError) -> String {
    match e {
        StoreError::StaleToken {
            task,
            presented,
            current,
            state,
            lease_expired_at,
        } => {
            format!("stale {task} {presented} {current} {state} {lease_expired_at:?}")
        }
        StoreError::RunFinished { status, .. } => format!("finished {status}"),
        StoreError::NotDeadLettered { task, state } => format!("not-dead {task} {state}"),
        other => format!("{other:?}"),
    }
}

fn lease_text(l: &Option<Lease>) -> String {
    l.as_ref().map_or_else(
        || "none".into(),
        |l| {
            format!(
                "{} {} {} {} {}",
                l.task, l.step, l.attempt, l.token, l.expires_at
            )
        },
    )
}

/// A task as both stores must show it (its run id aside).
fn task_text(t: &TaskRecord) -> String {
    format!(
        "{} {} {} {} {} {} {} {} {:?}",
        t.id, t.step_id, t.attempt, t.pool, t.priority, t.ready_at, t.state, t.last_token, t.error
    )
}

/// One random operation on both stores; returns both answers.
async fn step(
    rng: &mut Rng,
    stores: [&SharedStore; 2],
    runs: &mut [Vec<String>; 2],
    leases: &mut Vec<Lease>,
    now: &mut u64,
) -> [String; 2] {
    let op = rng.below(100);
    let pick = |rng: &mut Rng, n: usize| usize::try_from(rng.below(n.max(1) as u64)).unwrap_or(0);
    let mut out: [String; 2] = Default::default();
    match op {
        0..=19 => {
            let n = 1 + rng.below(2);
            let tasks = (0..n)
                .map(|i| {
                    task(
                        &format!("s{i}"),
                        POOLS[pick(rng, 3)],
                        u32::try_from(rng.below(3)).unwrap_or(0),
                    )
                })
                .collect();
            let mut new = run(tasks);
            // Some runs wait to start (their first tasks delayed).
            if rng.below(4) == 0 {
                new.not_before = Some(*now + rng.below(300));
            }
            for (i, store) in stores.iter().enumerate() {
                let r = store.submit_run(new.clone(), *now).await;
                if let Ok(s) = &r {
                    runs[i].push(s.run_id.clone());
                }
                out[i] = answer(&r, |s| s.created.to_string());
            }
        }
        20..=44 => {
            let pools = match rng.below(3) {
                0 => None,
                _ => Some(vec![POOLS[pick(rng, 3)].to_owned()]),
            };
            let ms = 100 + rng.below(400);
            for (i, store) in stores.iter().enumerate() {
                let r = store
                    .lease("w", pools.as_deref(), ms, WorkerSite::Remote, *now)
                    .await;
                if i == 0
                    && let Ok(Some(l)) = &r
                {
                    leases.push(l.clone());
                }
                out[i] = answer(&r, lease_text);
            }
        }
        45..=74 if !leases.is_empty() => {
            let l = leases[pick(rng, leases.len())].clone();
            let token = if rng.below(5) == 0 {
                l.token + 1
            } else {
                l.token
            };
            let what = rng.below(7);
            // For a step that ends without an output: a dependent `n` that
            // needs it, and a run that ends once `s0` and `n` have ended.
            let advance = Advance {
                candidates: vec![NextCandidate {
                    task: task("n", "a", 1),
                    needs: vec![l.step.clone()],
                }],
                all_steps: vec!["s0".into(), "n".into()],
                final_steps: vec!["n".into()],
            };
            let next = if rng.below(2) == 0 {
                vec![task("n", "a", 1)]
            } else {
                vec![]
            };
            for (i, store) in stores.iter().enumerate() {
                out[i] = match what {
                    0 | 1 => answer(
                        &store
                            .complete(l.task, token, json!(what), next.clone(), None, *now)
                            .await,
                        |_| String::new(),
                    ),
                    2 => {
                        let d = FailDecision::Retry { at_ms: *now + 50 };
                        answer(&store.fail(l.task, token, "e", d, None, *now).await, |_| {
                            String::new()
                        })
                    }
                    3 => {
                        let d = FailDecision::DeadLetter { reason: "r".into() };
                        answer(&store.fail(l.task, token, "e", d, None, *now).await, |_| {
                            String::new()
                        })
                    }
                    5 => {
                        let end = StepEnd::Skipped { reason: "r".into() };
                        let r = store
                            .end_step(l.task, token, end, advance.clone(), *now)
                            .await;
                        answer(&r, |d| format!("{} {}", d.enqueued.len(), d.run_failed))
                    }
                    6 => {
                        let end = StepEnd::Failed {
                            error: "e".into(),
                            reason: "r".into(),
                            decided_by: None,
                        };
                        let r = store
                            .end_step(l.task, token, end, advance.clone(), *now)
                            .await;
                        answer(&r, |d| format!("{} {}", d.enqueued.len(), d.run_failed))
                    }
                    _ => answer(
                        &store
                            .renew(l.task, token, 300, WorkerSite::Remote, *now)
                            .await,
                        u64::to_string,
                    ),
                };
            }
        }
        75..=79 => {
            for (i, store) in stores.iter().enumerate() {
                out[i] = answer(&store.expire_leases(*now).await, u64::to_string);
            }
        }
        80..=84 if !runs[0].is_empty() => {
            let k = pick(rng, runs[0].len());
            for (i, store) in stores.iter().enumerate() {
                out[i] = answer(&store.cancel(&runs[i][k], None, *now).await, |_| {
                    String::new()
                });
            }
        }
        85..=89 => {
            let letters = stores[0].dlq_list().await.unwrap();
            if let Some(d) = letters.get(pick(rng, letters.len())) {
                let purge = rng.below(2) == 0;
                for (i, store) in stores.iter().enumerate() {
                    out[i] = if purge {
                        answer(&store.dlq_purge(d.task, *now).await, |p| {
                            format!("{:?}", p.run_ended)
                        })
                    } else {
                        answer(&store.dlq_requeue(d.task, *now).await, |_| String::new())
                    };
                }
            }
        }
        _ => *now += 1 + rng.below(200),
    }
    out
}

/// Everything both stores must agree on at `now`.
async fn state(store: &SharedStore, runs: &[String], now: u64) -> String {
    let mut text = format!(
        "{:?} {:?}",
        store.queue_stats(now).await.unwrap(),
        store.counters().await.unwrap()
    );
    for run in runs {
        let r = store.run_get(run).await.unwrap().unwrap();
        text.push_str(&format!(" | {} {:?}", r.status, r.error));
        for t in store.tasks_of(run).await.unwrap() {
            text.push_str(&format!(" [{}]", task_text(&t)));
        }
    }
    text
}

/// Three seeds of 250 random operations agree with redb, answer by answer
/// and state by state; every ledger has the same events and verifies.
pub async fn random_operations_agree_with_redb(b: &dyn Backend) {
    for seed in [7u64, 1_234_567, 0xdead_beef] {
        let (store, _) = b.fresh().await;
        let redb = RedbBackend::new();
        let (reference, _) = redb.fresh().await;
        let mut rng = Rng(seed);
        let mut runs: [Vec<String>; 2] = Default::default();
        let mut leases = Vec::new();
        let mut now = T0;
        for i in 0..250 {
            let [ours, theirs] = step(
                &mut rng,
                [&store, &reference],
                &mut runs,
                &mut leases,
                &mut now,
            )
            .await;
            assert_eq!(ours, theirs, "seed {seed}, step {i}: answers differ");
            let (a, b) = (
                state(&store, &runs[0], now).await,
                state(&reference, &runs[1], now).await,
            );
            assert_eq!(a, b, "seed {seed}, step {i}: states differ");
        }
        assert!(runs[0].len() > 10, "seed {seed}: {} runs", runs[0].len());
        for (ours, theirs) in runs[0].iter().zip(&runs[1]) {
            let a: Vec<_> = store
                .ledger(ours)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.seq, e.time_ms, e.kind, e.payload))
                .collect();
            let b: Vec<_> = reference
                .ledger(theirs)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.seq, e.time_ms, e.kind, e.payload))
                .collect();
            assert_eq!(a, b, "seed {seed}: ledger of run {ours}");
            assert!(store.verify(ours).await.unwrap().is_ok());
        }
    }
}
