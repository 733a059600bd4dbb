//! The flows an engine serves and the plugins they use, swapped as one value.
//!
//! A task, a schedule tick or a submission takes a snapshot (`Arc<Catalog>`)
//! and works with it to the end, so a flow replaced while a step runs does not
//! change that step's plugin, config or successors half-way.

use std::collections::HashMap;
use std::sync::Arc;

use weft_flow::{CompiledFlow, CompiledStep};
use weft_runtime::Plugin;
use weft_store_api::{Lease, RunRecord, SharedStore};

/// Loaded flows by id, and every plugin they (and `weft.yaml`) use, by name.
#[derive(Default)]
pub struct Catalog {
    flows: HashMap<String, Arc<CompiledFlow>>,
    plugins: HashMap<String, Arc<Plugin>>,
}

impl Catalog {
    /// A catalog of `flows` and the `plugins` they use.
    pub(crate) fn new(flows: Vec<CompiledFlow>, plugins: HashMap<String, Arc<Plugin>>) -> Self {
        let flows = flows
            .into_iter()
            .map(|f| (f.id.clone(), Arc::new(f)))
            .collect();
        Self { flows, plugins }
    }

    /// The flow with id `id`.
    pub fn flow(&self, id: &str) -> Option<&Arc<CompiledFlow>> {
        self.flows.get(id)
    }

    /// Every flow, sorted by id.
    pub fn flows(&self) -> Vec<&Arc<CompiledFlow>> {
        let mut flows: Vec<_> = self.flows.values().collect();
        flows.sort_by(|a, b| a.id.cmp(&b.id));
        flows
    }

    /// The name of a loaded plugin whose component's SHA-256 is `sha256`.
    pub fn plugin_named_by_hash(&self, sha256: &str) -> Option<String> {
        self.plugins
            .iter()
            .find(|(_, p)| p.sha256() == sha256)
            .map(|(name, _)| name.clone())
    }

    /// The loaded plugin named `name` in `weft.yaml`.
    pub fn plugin(&self, name: &str) -> Option<&Arc<Plugin>> {
        self.plugins.get(name)
    }

    /// The run, flow and step of a lease; [`Unlocated`] says why there is
    /// none (the task is dead-lettered with that reason).
    pub(crate) async fn locate(
        &self,
        store: &SharedStore,
        lease: &Lease,
    ) -> Result<(RunRecord, &CompiledFlow, &CompiledStep), Unlocated> {
        let run = match store.run_get(&lease.run).await {
            Ok(Some(run)) => run,
            Ok(None) => {
                return Err(Unlocated::no_run(format!(
                    "run `{}` is not in the store",
                    lease.run
                )));
            }
            Err(e) => {
                return Err(Unlocated::no_run(format!(
                    "cannot read run `{}`: {e}",
                    lease.run
                )));
            }
        };
        let (flow, step) = self.step_of(&run, lease).map_err(|reason| Unlocated {
            run: Some(run.clone()),
            reason,
        })?;
        Ok((run, flow, step))
    }

    /// The flow and step `lease` of `run` runs, as now served.
    fn step_of(
        &self,
        run: &RunRecord,
        lease: &Lease,
    ) -> Result<(&CompiledFlow, &CompiledStep), String> {
        let flow = self
            .flow(&run.flow_id)
            .ok_or_else(|| {
                format!(
                    "flow `{}` is not served by this engine (its file was removed from the flows folder, or never loaded); put it back, then requeue this task",
                    run.flow_id
                )
            })?;
        let step = flow.step(&lease.step).ok_or_else(|| {
            format!(
                "flow `{}` (version {} now served) has no step `{}` any more; put the step back, then requeue this task",
                flow.id, flow.version, lease.step
            )
        })?;
        Ok((flow, step))
    }
}

/// Why a lease's run, flow or step cannot be found.
#[derive(Debug)]
pub(crate) struct Unlocated {
    /// The run, if it is in the store.
    pub run: Option<RunRecord>,
    /// What is missing, in words (the dead letter's reason).
    pub reason: String,
}

impl Unlocated {
    fn no_run(reason: String) -> Self {
        Self { run: None, reason }
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut flows: Vec<&String> = self.flows.keys().collect();
        flows.sort();
        let mut plugins: Vec<&String> = self.plugins.keys().collect();
        plugins.sort();
        f.debug_struct("Catalog")
            .field("flows", &flows)
            .field("plugins", &plugins)
            .finish()
    }
}
