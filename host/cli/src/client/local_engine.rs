//! The operations of [`LocalClient`] that the engine owns, so that they do
//! locally what a daemon's engine does: a purge that ends a run signs its
//! ledger head and reports its end (`Engine::dlq_purge`), a requeue wakes
//! workers (`Engine::dlq_requeue`), a resume runs the run's steps, a swap checks
//! the component and records it, the pools are the engine's view. The engine
//! is opened on the client's own store, once, with its workers not started.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use weft_engine::{Engine, EngineOptions};
use weft_flow::{CompiledFlow, ProjectConfig};
use weft_store_api::{RunRecord, SharedStore};

use super::local::LocalClient;
use super::{Outcome, Resuming, ShowProgress, Swap};
use crate::commands::daemon::load_flows;
use crate::commands::flow_run::find_flow;
use crate::commands::project::{find_project_file, flows_dir, load_project};

/// The weft.yaml of a state folder outside any project.
const BARE_PROJECT: &str = "id_prefix: weft\n";

/// The project of the current folder: required.
fn project() -> Result<ProjectConfig> {
    load_project(&find_project_file()?)
}

/// A project for an engine that runs no step: the current folder's, if there
/// is one, with no plugins to load (its ledger key and pools still count); a
/// bare one for a `--state DIR` outside any project. A weft.yaml that is
/// there but does not load is its error (file, line, what was expected), not
/// a reason to act without its signing key and pools.
fn bare_project(dir: &Path) -> Result<ProjectConfig> {
    let mut project = match find_project_file() {
        Ok(file) => load_project(&file)?,
        Err(_) => ProjectConfig::parse("weft.yaml", BARE_PROJECT, dir)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("could not make a project for the state folder")?,
    };
    project.plugin_uses.clear();
    Ok(project)
}

/// Options for an engine that serves one command: one worker, not started.
fn one_command(lease_reaper: bool) -> EngineOptions {
    EngineOptions {
        workers: 1,
        lease_reaper,
        ..EngineOptions::default()
    }
}

impl Outcome {
    /// The outcome of `run` as the engine's store has it.
    pub(crate) async fn local(engine: &Engine, run: RunRecord) -> Result<Self> {
        let verify = engine.store().verify(&run.id).await?;
        let dead = engine
            .store()
            .dlq_list()
            .await?
            .into_iter()
            .filter(|d| d.run == run.id)
            .collect();
        Ok(Self { run, verify, dead })
    }
}

impl LocalClient {
    /// The engine, opened on `store` with `project` and `flows` unless one is
    /// open already.
    async fn engine_on(
        &self,
        project: ProjectConfig,
        flows: Vec<CompiledFlow>,
        options: EngineOptions,
        store: SharedStore,
        dir: &Path,
    ) -> Result<&Engine> {
        self.engine
            .get_or_try_init(|| async {
                Engine::open_on(project, flows, dir, options, store)
                    .await
                    .map_err(anyhow::Error::from)
            })
            .await
    }

    /// An engine for store operations (a purge, a requeue): no flows, no
    /// plugins.
    pub(super) async fn store_engine(&self) -> Result<&Engine> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let state = self.state().await?;
        let project = bare_project(&state.dir)?;
        let options = one_command(false);
        self.engine_on(
            project,
            Vec::new(),
            options,
            state.store.clone(),
            &state.dir,
        )
        .await
    }

    /// The project's engine with every flow of the project (a swap of a
    /// flow's retry strategy needs the flow); the store is created if there
    /// is none yet.
    pub(super) async fn project_engine(&self) -> Result<&Engine> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let project = project()?;
        let folder = load_flows(&flows_dir(&project), &project)?;
        let state = self.state_or_create().await?;
        let options = one_command(true);
        let (store, dir) = (state.store.clone(), &state.dir);
        self.engine_on(project, folder.flows(), options, store, dir)
            .await
    }

    /// Opens the engine with run `id`'s flow and hands back its expired
    /// leases' tasks when followed; says what the run waits for.
    pub(super) async fn begin_resume(&self, id: &str) -> Result<Resuming> {
        let project = project()?;
        // Look the run up first, for a clear error.
        let state = self.state().await?;
        let record = state.run(id).await?;
        let flow = find_flow(&project, &record.flow_id)?;
        let (store, dir) = (state.store.clone(), &state.dir);
        let options = EngineOptions::default();
        let engine = self
            .engine_on(project, vec![flow], options, store, dir)
            .await?;
        let now_ms = engine.now_ms();
        let held = engine.held_leases(&record.id).await?;
        Ok(Resuming {
            place: format!("({})", record.flow_id),
            run: record.id,
            held,
            now_ms,
            after: 0,
            moving: true,
        })
    }

    /// Runs the resumed run's steps here until it finishes or cannot go on.
    pub(super) async fn follow_resume(
        &self,
        resuming: &Resuming,
        show: &ShowProgress,
    ) -> Result<Outcome> {
        let engine = self.store_engine().await?;
        let run = engine.resume(&resuming.run, |e| show(&e)).await?;
        Outcome::local(engine, run).await
    }

    /// Swaps the component in through the project's engine; its report.
    pub(super) async fn swap_in(&self, swap: Swap<'_>) -> Result<Value> {
        let engine = self.project_engine().await?;
        let Swap {
            target,
            name,
            wasm,
            config,
        } = swap;
        let report = engine.swap_component(target, name, wasm, config).await?;
        Ok(json!(report))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use weft_flow::ProjectConfig;

    #[test]
    fn a_state_folder_outside_a_project_gets_a_bare_project() {
        let dir = std::path::Path::new("/tmp");
        let project = ProjectConfig::parse("weft.yaml", super::BARE_PROJECT, dir).unwrap();
        assert!(project.plugin_uses.is_empty());
        assert!(project.ledger.signing_key.is_none());
    }
}
