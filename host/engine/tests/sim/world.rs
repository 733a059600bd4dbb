//! The simulated world: one engine (the daemon) on a store on a simulated
//! disk, a manual clock, and remote workers the simulator drives through the
//! engine's worker API (`lease_remote`, `model_call_remote`, `complete_remote`,
//! `fail_remote`, `heartbeat`). Nothing runs unless the simulator calls it: no
//! in-process workers, no lease reaper, no scheduler loop.

use std::collections::{BTreeMap, BTreeSet};
use std::future::pending;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use weft_core::worker_protocol::{
    CompleteRequest, FailRequest, LeaseRequest, ModelCallRequest, RemoteTask,
};
use weft_core::{ChatMessage, CompletionRequest, PluginError};
use weft_engine::{Engine, EngineError, EngineOptions, ManualClock, SubmitOptions};
use weft_flow::{CompiledFlow, ProjectConfig};
use weft_store_api::SharedStore;
use weft_store_redb::{RedbOptions, RedbStore, SeededRng, SimDisk};

/// A lease one simulated worker holds.
#[derive(Debug, Clone)]
pub struct Held {
    pub task: RemoteTask,
    pub expires_ms: u64,
    pub calls: u32,
}

/// A remote worker: idle, or holding one lease.
#[derive(Debug, Default)]
pub struct Worker {
    pub held: Option<Held>,
}

/// What the engine acknowledged; it must hold after any crash.
#[derive(Debug, Default)]
pub struct Acknowledged {
    /// Runs whose submit returned; with the idempotency key they were sent with.
    pub runs: BTreeMap<String, Option<String>>,
    /// Each idempotency key's run and when it was first answered.
    pub keys: BTreeMap<String, (String, u64)>,
    /// Steps whose completion was acknowledged: (run, step).
    pub completed: BTreeSet<(String, String)>,
    /// Cron fires that created a run: fire key → run.
    pub fires: BTreeMap<String, String>,
}

/// Everything one seed's simulation holds.
pub struct World {
    pub seed: u64,
    pub rng: SeededRng,
    pub clock: Arc<ManualClock>,
    pub disk: SimDisk,
    pub engine: Option<Engine>,
    pub workers: Vec<Worker>,
    /// Leases workers dropped without a word (they crashed or timed out):
    /// still live in the store until they expire. (pool, expiry)
    pub ghosts: Vec<(String, u64)>,
    pub acked: Acknowledged,
    /// One line per action, run ids replaced by their order of appearance,
    /// so that two runs of one seed can be compared.
    pub trace: Vec<String>,
    names: BTreeMap<String, usize>,
    project: ProjectConfig,
    flows: Vec<CompiledFlow>,
    state_dir: PathBuf,
    pub crashes: u64,
}

/// The lease every simulated worker asks for.
pub const LEASE_MS: u64 = 10_000;
/// The pool every step runs in, and its cap.
pub const POOL: &str = "p2";
pub const POOL_CAP: usize = 2;
/// The tenant with a budget, and the budget in micro-dollars.
pub const TINY: &str = "tiny";
pub const TINY_BUDGET_MICRO: u64 = 200_000;

impl World {
    /// A world for `seed`; its engine opened on a fresh simulated disk.
    pub async fn new(
        seed: u64,
        project: ProjectConfig,
        flows: Vec<CompiledFlow>,
        state_dir: PathBuf,
        start_ms: u64,
    ) -> Self {
        let mut world = Self {
            seed,
            rng: SeededRng::new(seed),
            clock: Arc::new(ManualClock::new(start_ms)),
            disk: SimDisk::new(),
            engine: None,
            workers: (0..3).map(|_| Worker::default()).collect(),
            ghosts: Vec::new(),
            acked: Acknowledged::default(),
            trace: Vec::new(),
            names: BTreeMap::new(),
            project,
            flows,
            state_dir,
            crashes: 0,
        };
        world.open().await;
        world
    }

    /// Opens the engine (the daemon starting) on the disk as it is.
    pub async fn open(&mut self) {
        let store = RedbStore::open_on(
            "sim.redb",
            self.disk.clone(),
            RedbOptions {
                cache_bytes: 2 << 20,
            },
        )
        .unwrap_or_else(|e| self.fail(&format!("the store does not open: {e}")));
        let store: SharedStore = Arc::new(store);
        let options = EngineOptions {
            workers: 0,
            lease_ms: LEASE_MS,
            clock: self.clock.clone(),
            lease_reaper: false,
            ..EngineOptions::default()
        };
        let engine = Engine::open_on(
            self.project.clone(),
            self.flows.clone(),
            &self.state_dir,
            options,
            store,
        )
        .await
        .unwrap_or_else(|e| self.fail(&format!("the engine does not open: {e}")));
        self.engine = Some(engine);
    }

    /// The engine; it is always open between actions.
    pub fn engine(&self) -> &Engine {
        self.engine
            .as_ref()
            .unwrap_or_else(|| self.fail("the engine is not open"))
    }

    pub fn now(&self) -> u64 {
        self.engine().now_ms()
    }

    /// Panics with the seed, the action count and the end of the trace.
    pub fn fail(&self, what: &str) -> ! {
        let tail: Vec<&String> = self.trace.iter().rev().take(15).rev().collect();
        panic!(
            "simulation seed {} failed after {} actions: {what}\nreplay: WEFT_SIM_SEED={} cargo test -p weft-engine --test simulation\nlast actions:\n  {}",
            self.seed,
            self.trace.len(),
            self.seed,
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }

    /// `id` as `r<n>`, by order of first appearance.
    pub fn name(&mut self, id: &str) -> String {
        let next = self.names.len();
        format!("r{}", self.names.entry(id.to_owned()).or_insert(next))
    }

    pub fn log(&mut self, line: String) {
        self.trace.push(line);
    }

    /// Submits a run of a random flow for a random tenant, with an
    /// idempotency key half of the time.
    pub async fn submit(&mut self) {
        let tenant = self.rng.chance(50).then(|| TINY.to_owned());
        // A key always goes with the same flow and input: a key sent again
        // with another flow is a conflict, by design.
        let key = self.rng.chance(50).then(|| self.rng.below(12));
        let flow = match key {
            Some(k) if k % 2 == 0 => "chain",
            Some(_) => "fan",
            None if self.rng.chance(60) => "chain",
            None => "fan",
        };
        let key = key.map(|k| format!("k{k}"));
        let options = SubmitOptions {
            idempotency_key: key.clone(),
            tenant: tenant.clone(),
            ..SubmitOptions::default()
        };
        let answer = self.engine().submit_with(flow, json!({}), options).await;
        let sub = answer.unwrap_or_else(|e| self.fail(&format!("submit refused: {e}")));
        let now = self.now();
        if let Some(key) = &key {
            let scoped = format!("{}:{key}", tenant.as_deref().unwrap_or("default"));
            match self.acked.keys.get(&scoped) {
                Some((run, _)) if *run == sub.run_id => {
                    if sub.created {
                        self.fail(&format!("key {scoped} made its run twice"));
                    }
                }
                Some((run, first)) => {
                    let ttl = self.engine().idempotency_ttl_ms();
                    if now.saturating_sub(*first) < ttl {
                        self.fail(&format!("key {scoped} named {run}, now {}", sub.run_id));
                    }
                    self.acked.keys.insert(scoped, (sub.run_id.clone(), now));
                }
                None => {
                    self.acked.keys.insert(scoped, (sub.run_id.clone(), now));
                }
            }
        }
        self.acked.runs.insert(sub.run_id.clone(), key);
        let name = self.name(&sub.run_id);
        self.log(format!("submit {flow} -> {name} created={}", sub.created));
    }

    /// Worker `w` (idle) asks for a task.
    pub async fn lease(&mut self, w: usize) {
        let ask = LeaseRequest {
            worker: format!("sim{w}"),
            owner: format!("sim{w}/0"),
            pools: None,
            lease_ms: LEASE_MS,
            wait_ms: 0,
        };
        let answer = self.engine().lease_remote(&ask, pending()).await;
        let task = answer.unwrap_or_else(|e| self.fail(&format!("lease failed: {e}")));
        let Some(task) = task else {
            self.log(format!("w{w} lease: none"));
            return;
        };
        if self
            .acked
            .completed
            .contains(&(task.run.clone(), task.step.clone()))
        {
            self.fail(&format!(
                "step {} of {} was handed out again after its completion was acknowledged",
                task.step, task.run
            ));
        }
        let name = self.name(&task.run);
        self.log(format!(
            "w{w} lease {name}.{} attempt {}",
            task.step, task.attempt
        ));
        self.workers[w].held = Some(Held {
            expires_ms: task.expires_ms,
            task,
            calls: 0,
        });
    }

    /// Worker `w`'s step asks the model (3 output tokens: $0.03).
    pub async fn model_call(&mut self, w: usize) {
        let Some(held) = self.workers[w].held.clone() else {
            return;
        };
        let call = ModelCallRequest {
            token: held.task.token,
            index: held.calls,
            request: CompletionRequest {
                model: "mock".into(),
                messages: vec![ChatMessage {
                    role: "user".into(),
                    content: "Say hello".into(),
                }],
                max_tokens: Some(3),
                temperature: None,
                extra: None,
            },
        };
        let answer = self.engine().model_call_remote(held.task.task, &call).await;
        let line = match answer {
            Ok(Ok(c)) => format!("ok {} tokens", c.usage.output_tokens),
            Ok(Err(e)) => format!(
                "refused: {}",
                e.to_string().chars().take(40).collect::<String>()
            ),
            Err(e) => self.lease_refused(&held, &e).await,
        };
        if let Some(h) = self.workers[w].held.as_mut() {
            h.calls += 1;
        }
        let name = self.name(&held.task.run);
        self.log(format!("w{w} model {name}.{}: {line}", held.task.step));
    }

    /// Worker `w` reports its step: `kind` 0 success, 1 transient, 2 permanent.
    pub async fn report(&mut self, w: usize, kind: u64) {
        let Some(held) = self.workers[w].held.take() else {
            return;
        };
        let engine = self.engine().clone();
        let task = held.task.task;
        let token = held.task.token;
        let answer = match kind {
            0 => {
                let done = CompleteRequest {
                    token,
                    output: json!({"text": format!("out-{}", self.rng.below(100))}),
                    elapsed_ms: 5,
                };
                engine.complete_remote(task, done).await
            }
            _ => {
                let error = if kind == 1 {
                    PluginError::Transient("flaky".into())
                } else {
                    PluginError::Permanent("broken".into())
                };
                let fail = FailRequest {
                    token,
                    message: error.to_string(),
                    error,
                    elapsed_ms: 5,
                };
                engine.fail_remote(task, fail).await
            }
        };
        let line = match answer {
            Ok(report) => {
                if kind == 0 && report.outcome.as_str() == "succeeded" {
                    self.acked
                        .completed
                        .insert((held.task.run.clone(), held.task.step.clone()));
                }
                report.outcome.to_string()
            }
            Err(e) => self.lease_refused(&held, &e).await,
        };
        let name = self.name(&held.task.run);
        self.log(format!(
            "w{w} report {kind} {name}.{}: {line}",
            held.task.step
        ));
    }

    /// A report or call on `held` was refused: fine once its lease ran out or
    /// its run ended; a refusal of a live lease of a running run is a bug.
    async fn lease_refused(&self, held: &Held, e: &EngineError) -> String {
        if !matches!(e, EngineError::LeaseLost { .. }) {
            self.fail(&format!("a worker call failed: {e}"));
        }
        let run = self.engine().store().run_get(&held.task.run).await;
        let ended = run.ok().flatten().is_some_and(|r| r.status.is_final());
        if held.expires_ms > self.now() && !ended {
            self.fail(&format!("a live lease was refused: {e}"));
        }
        "lease lost".into()
    }

    /// Worker `w` renews its lease.
    pub async fn heartbeat(&mut self, w: usize) {
        let Some(held) = self.workers[w].held.clone() else {
            return;
        };
        let answer = self
            .engine()
            .heartbeat(held.task.task, held.task.token, LEASE_MS)
            .await;
        let line = match answer {
            Ok(expires) => {
                if let Some(h) = self.workers[w].held.as_mut() {
                    h.expires_ms = expires;
                }
                "renewed".to_owned()
            }
            Err(e) => {
                let line = self.lease_refused(&held, &e).await;
                self.workers[w].held = None;
                line
            }
        };
        self.log(format!("w{w} heartbeat: {line}"));
    }

    /// Worker `w` dies (or its step hangs past its timeout): its lease stays
    /// in the store until it runs out.
    pub fn abandon(&mut self, w: usize) {
        if let Some(held) = self.workers[w].held.take() {
            self.ghosts.push((POOL.to_owned(), held.expires_ms));
            self.log(format!("w{w} abandons its lease"));
        }
    }

    /// Moves the clock and lets the engine see it.
    pub fn advance(&mut self, ms: u64) {
        self.clock.advance(ms);
        self.engine().wake();
        self.log(format!("clock +{ms} ms"));
    }

    /// Fires the schedules that are due.
    pub async fn tick(&mut self) {
        let fired = self.engine().tick_schedules().await;
        let fired = fired.unwrap_or_else(|e| self.fail(&format!("tick failed: {e}")));
        for f in fired {
            if f.created {
                if let Some(run) = self.acked.fires.get(&f.idempotency_key) {
                    self.fail(&format!(
                        "fire {} made {run} and {}",
                        f.idempotency_key, f.run_id
                    ));
                }
                self.acked
                    .fires
                    .insert(f.idempotency_key.clone(), f.run_id.clone());
            }
            self.acked.runs.insert(f.run_id.clone(), None);
            let name = self.name(&f.run_id);
            self.log(format!(
                "cron {} -> {name} created={}",
                f.fire_ms, f.created
            ));
        }
    }

    /// The daemon dies: with `power_loss`, unsynced writes are dropped, kept or
    /// torn; else everything the OS had survives (kill -9). Remote workers live
    /// on with their leases. Then the daemon starts again.
    pub async fn crash(&mut self, power_loss: bool) {
        self.disk.cut_power_after(0);
        self.engine = None;
        self.disk = if power_loss {
            let (disk, what) = self.disk.power_loss(self.rng.next_u64());
            self.log(format!("power loss: {what:?}"));
            disk
        } else {
            self.log("kill -9".into());
            self.disk.process_crash()
        };
        self.crashes += 1;
        self.open().await;
    }
}
