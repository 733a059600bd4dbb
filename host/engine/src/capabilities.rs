//! Tenant capabilities: a flow whose steps use a plugin or a model outside its
//! tenant's `capabilities:` is refused at submit, before it is stored; the
//! step's plugin is checked again when a task runs, since flows can be
//! replaced while runs wait (model calls are checked in `host.rs`).

use weft_flow::{CompiledFlow, CompiledStep, ProjectConfig};

use crate::error::EngineError;

/// Refuses a run of `flow` for `tenant` if a step's `uses:` plugin or
/// `model:` is not allowed by the tenant's capabilities. Tenants that are not
/// declared, or declare no capabilities, may use everything.
pub(crate) fn check_flow(
    project: &ProjectConfig,
    tenant: &str,
    flow: &CompiledFlow,
) -> Result<(), EngineError> {
    flow.steps
        .iter()
        .try_for_each(|step| check_step(project, tenant, flow, step))
}

/// Refuses `step` of `flow` for `tenant` if its plugin or model is not
/// allowed; see [`check_flow`].
pub(crate) fn check_step(
    project: &ProjectConfig,
    tenant: &str,
    flow: &CompiledFlow,
    step: &CompiledStep,
) -> Result<(), EngineError> {
    let Some(caps) = project.tenant_capabilities(tenant) else {
        return Ok(());
    };
    if !caps.allows_plugin(&step.uses) {
        return Err(EngineError::Forbidden {
            tenant: tenant.to_owned(),
            what: format!(
                "plugin `{}` (step `{}` of flow `{}`)",
                step.uses, step.id, flow.id
            ),
            key: "plugins",
        });
    }
    if let Some(model) = &step.model
        && !caps.allows_model(model)
    {
        return Err(EngineError::Forbidden {
            tenant: tenant.to_owned(),
            what: format!("model `{model}` (step `{}` of flow `{}`)", step.id, flow.id),
            key: "models",
        });
    }
    Ok(())
}
