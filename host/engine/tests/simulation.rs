//! Deterministic simulation of the engine: one seed drives a manual clock,
//! three remote workers (through the engine's worker API), random submits
//! with idempotency keys, random step outcomes (success, transient,
//! permanent, a worker that vanishes so its lease runs out), model calls
//! charged to a tenant's budget, cron fires, clock jumps, and crashes of the
//! daemon — `kill -9` (every write the OS had survives) and power loss
//! (unsynced writes dropped, kept or torn, on `SimDisk`) — after which the
//! engine is opened again on what the disk holds. Real components run
//! throughout: the fair-share pool policy, the exp-backoff retry strategy,
//! the mock model adapter.
//!
//! Checked between actions (`sim/check.rs`): a pool never holds more live
//! leases than its cap; the budget is never overspent; every acknowledged
//! run exists; every ledger verifies; no step's success is recorded twice,
//! and none that was acknowledged is lost or handed out again; a cron fire
//! makes at most one run. At the end, with faults off, every run ends.
//!
//! A failure names its seed; `WEFT_SIM_SEED=N` replays that one seed, and the
//! same seed gives the same trace (`a_seed_replays_exactly`).
//! `WEFT_SIM_SEEDS` (default 200) and `WEFT_SIM_FIRST` choose the seeds;
//! `scripts/simulate.sh N` runs many in a release build.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;
mod sim;

use std::path::Path;

use sim::world::World;
use weft_flow::{CompiledFlow, ProjectConfig};

/// 2026-11-22T00:00:00Z.
const START_MS: u64 = 1_795_305_600_000;

const PROJECT: &str = r#"
id_prefix: sim
plugins:
  echo: { path: plugins/dist/echo.wasm, kind: step }
  prompt: { path: plugins/dist/prompt.wasm, kind: step }
  mock-model: { path: plugins/dist/mock-model.wasm, kind: model }
  fair-share: { path: plugins/dist/fair-share.wasm, kind: pool }
  exp-backoff:
    path: plugins/dist/exp-backoff.wasm
    kind: retry
    config: { base_ms: 2000, jitter_ms: 0, max_attempts: 3 }
models:
  mock:
    adapter: mock-model
    price: { input_per_million_usd: 0, output_per_million_usd: 10000 }
tenants:
  tiny:
    budget_usd_daily: 0.20
pools:
  p2: { policy: fair-share, max_concurrent: 2 }
defaults:
  pool: p2
  retry: { strategy: exp-backoff, max_attempts: 3 }
"#;

const CHAIN: &str = r#"
id: chain
steps:
  a: { uses: prompt, model: mock, with: { template: "Say hello", max_tokens: 3 } }
  b: { uses: echo, needs: [a] }
  c: { uses: echo, needs: [b] }
"#;

const FAN: &str = r#"
id: fan
steps:
  a: { uses: echo }
  b: { uses: prompt, model: mock, with: { template: "Say hello", max_tokens: 3 } }
  c: { uses: echo, needs: [a, b] }
"#;

const NIGHTLY: &str = r#"
id: nightly
schedule:
  - cron: "0 * * * * *"
    missed: { catch-up: 2 }
steps:
  a: { uses: echo }
"#;

fn setup() -> (ProjectConfig, Vec<CompiledFlow>) {
    let project = common::project_from(PROJECT);
    let flows = [CHAIN, FAN, NIGHTLY]
        .iter()
        .map(|f| common::flow(&project, f))
        .collect();
    (project, flows)
}

/// Runs seed `seed` to its end; the world, for its trace and counts.
async fn simulate(seed: u64, state_dir: &Path) -> World {
    let (project, flows) = setup();
    let mut world = World::new(seed, project, flows, state_dir.to_owned(), START_MS).await;
    let actions = 120 + world.rng.below(120);
    for i in 0..actions {
        let roll = world.rng.below(100);
        let w = usize::try_from(world.rng.below(3)).unwrap();
        let holds = world.workers[w].held.is_some();
        match roll {
            0..=14 => world.submit().await,
            15..=34 if !holds => world.lease(w).await,
            15..=34 => world.heartbeat(w).await,
            35..=44 => {
                let asks = world.workers[w]
                    .held
                    .as_ref()
                    .is_some_and(|h| h.task.plugin == "prompt");
                if asks {
                    world.model_call(w).await;
                }
            }
            45..=59 => world.report(w, 0).await,
            60..=64 => world.report(w, 1).await,
            65..=67 => world.report(w, 2).await,
            68..=70 => world.abandon(w),
            71..=84 => {
                let ms = world.rng.below(3_000);
                world.advance(ms);
            }
            85 => {
                let ms = (1 + world.rng.below(30)) * 3_600_000;
                world.advance(ms);
            }
            86..=92 => world.tick().await,
            93..=95 => world.crash(false).await,
            96..=97 => world.crash(true).await,
            _ => {
                let ms = world.rng.below(20_000);
                world.advance(ms);
            }
        }
        world.check_cheap().await;
        if i % 10 == 9 {
            world.check_full().await;
        }
    }
    world.check_full().await;
    drain(&mut world).await;
    world.check_full().await;
    world
}

/// Faults off: workers take and finish every task (dead letters are
/// requeued, as an operator would) until every acknowledged run has ended.
async fn drain(world: &mut World) {
    for _ in 0..3_000 {
        if world.all_ended().await {
            return;
        }
        let store = world.engine().store().clone();
        let now = world.now();
        for dead in store.dlq_list().await.unwrap() {
            store.dlq_requeue(dead.task, now).await.unwrap();
        }
        let mut leased = false;
        for w in 0..world.workers.len() {
            if world.workers[w].held.is_some() {
                world.report(w, 0).await;
            } else {
                world.lease(w).await;
                leased |= world.workers[w].held.is_some();
            }
            world.check_cheap().await;
        }
        if !leased {
            world.advance(5_000);
            world.tick().await;
        }
    }
    world.fail("runs were still open after the drain");
}

fn seeds() -> Vec<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = var("WEFT_SIM_SEED") {
        return vec![seed];
    }
    let first = var("WEFT_SIM_FIRST").unwrap_or(0);
    let count = var("WEFT_SIM_SEEDS").unwrap_or(200);
    (first..first + count).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn seeds_run_clean() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let (mut actions, mut crashes, mut runs) = (0, 0, 0);
    for &seed in &seeds {
        let world = simulate(seed, dir.path()).await;
        actions += world.trace.len();
        crashes += world.crashes;
        runs += world.acked.runs.len();
    }
    // The seeds must exercise what they claim to.
    assert!(crashes > 0 && runs > 0, "crashes {crashes}, runs {runs}");
    println!(
        "simulation: {} seeds clean ({actions} actions, {runs} runs, {crashes} crashes)",
        seeds.len()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_seed_replays_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for seed in [7, 8, 9] {
        let first = simulate(seed, dir.path()).await.trace;
        let second = simulate(seed, dir.path()).await.trace;
        if let Some(i) = (0..first.len().max(second.len())).find(|&i| first.get(i) != second.get(i))
        {
            panic!(
                "seed {seed} did not replay: action {i} was {:?}, then {:?}",
                first.get(i),
                second.get(i)
            );
        }
        assert!(first.len() > 100, "seed {seed} ran {} actions", first.len());
    }
}
