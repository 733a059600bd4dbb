//! Model-based test: random operation sequences against the store and against
//! a plain in-memory model of the queue (BTreeMap), comparing every answer and
//! the observable queue state after each operation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::collections::BTreeMap;
use weft_store_api::WorkerSite;
use weft_store_api::prelude::*;

use common::{T0, run, task};
use serde_json::json;
use weft_store_api::{FailDecision, QueueStats, StoreError, TaskState};
use weft_store_redb::RedbStore;

/// xorshift64*: small, deterministic, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, PartialEq)]
struct MTask {
    pool: String,
    priority: u32,
    ready_at: u64,
    state: TaskState,
    attempt: u32,
    token: u64,
    expires_at: u64,
}

#[derive(Default)]
struct Model {
    tasks: BTreeMap<u64, MTask>,
    dlq: BTreeMap<u64, ()>,
}

const POOLS: [&str; 3] = ["a", "b", "c"];

impl Model {
    fn add(&mut self, pool: &str, priority: u32, now: u64) {
        let id = self.tasks.len() as u64 + 1;
        let t = MTask {
            pool: pool.into(),
            priority,
            ready_at: now,
            state: TaskState::Ready,
            attempt: 1,
            token: 0,
            expires_at: 0,
        };
        self.tasks.insert(id, t);
    }

    fn expire(&mut self, now: u64) -> u64 {
        let mut n = 0;
        for t in self.tasks.values_mut() {
            if t.state == TaskState::Leased && t.expires_at <= now {
                t.state = TaskState::Ready;
                t.ready_at = now;
                n += 1;
            }
        }
        n
    }

    fn lease(&mut self, pools: Option<&[String]>, lease_ms: u64, now: u64) -> Option<(u64, u64)> {
        for t in self.tasks.values_mut() {
            if t.state == TaskState::Delayed && t.ready_at <= now {
                t.state = TaskState::Ready;
            }
        }
        self.expire(now);
        let best = self
            .tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::Ready)
            .filter(|(_, t)| pools.is_none_or(|p| p.contains(&t.pool)))
            .min_by_key(|(id, t)| (u32::MAX - t.priority, t.ready_at, **id))
            .map(|(id, _)| *id)?;
        let t = self.tasks.get_mut(&best)?;
        t.state = TaskState::Leased;
        t.token += 1;
        t.expires_at = now + lease_ms;
        Some((best, t.token))
    }

    /// Whether `token` holds `id`'s lease at `now`. A fenced operation on a
    /// task whose lease has run out hands the task back first (and fails).
    fn holds(&mut self, id: u64, token: u64, now: u64) -> bool {
        let Some(t) = self.tasks.get_mut(&id) else {
            return false;
        };
        if t.state == TaskState::Leased && t.expires_at <= now {
            t.state = TaskState::Ready;
            t.ready_at = now;
        }
        t.state == TaskState::Leased && t.token == token
    }

    fn stats(&self, now: u64) -> QueueStats {
        let mut s = QueueStats::default();
        let mut oldest: Option<u64> = None;
        for t in self.tasks.values() {
            match t.state {
                TaskState::Ready => {
                    *s.ready_by_pool.entry(t.pool.clone()).or_default() += 1;
                    oldest = Some(oldest.map_or(t.ready_at, |o| o.min(t.ready_at)));
                }
                TaskState::Leased => s.inflight += 1,
                TaskState::Delayed => {
                    s.delayed += 1;
                    if t.ready_at <= now {
                        s.delayed_due += 1;
                    }
                }
                _ => {}
            }
        }
        s.dlq = self.dlq.len() as u64;
        s.oldest_ready_age_ms = oldest.map(|o| now.saturating_sub(o));
        s
    }
}

async fn check_same(store: &RedbStore, model: &Model, now: u64, step: usize) {
    let stats = model.stats(now);
    assert_eq!(
        store.queue_stats(now).await.unwrap(),
        stats,
        "stats after op {step}"
    );
    // The per-tenant index and the counts admission reads agree with the queue.
    let limits = weft_store_api::ViewLimits {
        candidates: 32,
        per_tenant: 8,
        scan: 4096,
    };
    for (pool, ready) in &stats.ready_by_pool {
        let view = store.pool_view(pool, limits, now).await.unwrap();
        assert_eq!(view.queued_total, *ready, "{pool} queued after op {step}");
        let head = view.queued.first().map(|t| t.task);
        let want = model
            .tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::Ready && &t.pool == pool)
            .min_by_key(|(id, t)| (u32::MAX - t.priority, t.ready_at, **id))
            .map(|(id, _)| *id);
        assert_eq!(head, want, "{pool} head after op {step}");
    }
    for (id, m) in &model.tasks {
        let t = store.task_get(*id).await.unwrap().unwrap();
        let seen = (
            t.state,
            t.attempt,
            t.last_token,
            t.ready_at,
            t.pool.as_str(),
            t.priority,
        );
        let want = (
            m.state,
            m.attempt,
            m.token,
            m.ready_at,
            m.pool.as_str(),
            m.priority,
        );
        assert_eq!(seen, want, "task {id} after op {step}");
    }
}

async fn run_sequence(seed: u64, steps: usize) {
    let (_dir, store) = common::temp_store();
    let mut model = Model::default();
    let mut rng = Rng(seed);
    let mut now = T0;
    let (mut leased, mut refused) = (0, 0);
    for step in 0..steps {
        now += rng.below(400);
        match rng.below(10) {
            0 | 1 => {
                let n = rng.below(3) as usize + 1;
                let tasks: Vec<_> = (0..n)
                    .map(|_| (POOLS[rng.below(3) as usize], rng.below(3) as u32))
                    .collect();
                let new = run(tasks.iter().map(|(p, pr)| task("s", p, *pr)).collect());
                store.submit_run(new, now).await.unwrap();
                for (p, pr) in tasks {
                    model.add(p, pr, now);
                }
            }
            2 | 3 => {
                let pools: Option<Vec<String>> = match rng.below(3) {
                    0 => None,
                    _ => Some(vec![POOLS[rng.below(3) as usize].to_string()]),
                };
                let lease_ms = 200 + rng.below(800);
                let got = store
                    .lease("w", pools.as_deref(), lease_ms, WorkerSite::Remote, now)
                    .await
                    .unwrap();
                let want = model.lease(pools.as_deref(), lease_ms, now);
                assert_eq!(got.map(|l| (l.task, l.token)), want, "lease at op {step}");
                leased += usize::from(want.is_some());
            }
            4..=6 if !model.tasks.is_empty() => {
                // A fenced op on a random task with its token, or a stale one.
                let id = rng.below(model.tasks.len() as u64) + 1;
                let real = model.tasks[&id].token;
                let token = if rng.below(4) == 0 {
                    real.saturating_sub(1)
                } else {
                    real
                };
                let holds = model.holds(id, token, now);
                let kind = rng.below(4);
                let result = match kind {
                    0 => {
                        store
                            .complete(id, token, json!(step), vec![], None, now)
                            .await
                    }
                    1 => {
                        let at = now + rng.below(1_000);
                        let r = store
                            .fail(id, token, "e", FailDecision::Retry { at_ms: at }, None, now)
                            .await;
                        if holds {
                            let t = model.tasks.get_mut(&id).unwrap();
                            t.state = TaskState::Delayed;
                            t.ready_at = at;
                            t.attempt += 1;
                        }
                        r
                    }
                    2 => {
                        let d = FailDecision::DeadLetter { reason: "r".into() };
                        store.fail(id, token, "e", d, None, now).await
                    }
                    _ => {
                        let r = store
                            .renew(id, token, 500, WorkerSite::Remote, now)
                            .await
                            .map(|_| ());
                        if holds {
                            model.tasks.get_mut(&id).unwrap().expires_at = now + 500;
                        }
                        r
                    }
                };
                if holds {
                    result.unwrap();
                    let t = model.tasks.get_mut(&id).unwrap();
                    match kind {
                        0 => t.state = TaskState::Done,
                        2 => {
                            t.state = TaskState::Dead;
                            model.dlq.insert(id, ());
                        }
                        _ => {}
                    }
                } else {
                    refused += 1;
                    assert!(
                        matches!(result, Err(StoreError::StaleToken { .. })),
                        "op {step}: expected refusal, got {result:?}"
                    );
                }
            }
            7 => {
                let got = store.expire_leases(now).await.unwrap();
                assert_eq!(got, model.expire(now), "expired at op {step}");
            }
            8 if !model.dlq.is_empty() => {
                let id = *model.dlq.keys().next().unwrap();
                store.dlq_requeue(id, now).await.unwrap();
                model.dlq.remove(&id);
                let t = model.tasks.get_mut(&id).unwrap();
                t.state = TaskState::Ready;
                t.ready_at = now;
                t.attempt += 1;
            }
            _ => {}
        }
        check_same(&store, &model, now, step).await;
    }
    assert!(
        leased > 10 && refused > 10,
        "seed {seed}: too few leases/refusals"
    );
    assert_eq!(
        store.counters().await.unwrap().stale_refusals,
        refused as u64
    );
    // Every run's ledger still verifies after the whole sequence.
    for r in store
        .runs_list(usize::MAX, &Default::default())
        .await
        .unwrap()
    {
        assert!(
            store.verify(&r.id).await.unwrap().is_ok(),
            "seed {seed}: {}",
            r.id
        );
    }
}

#[tokio::test]
async fn random_sequences_match_the_model() {
    for seed in 1..=8u64 {
        run_sequence(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 250).await;
    }
}
