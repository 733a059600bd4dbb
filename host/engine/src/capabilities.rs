//! Tenant capabilities at submit time: a flow whose steps use a plugin or a
//! model outside its tenant's `capabilities:` is refused before it is stored.

use weft_flow::{CompiledFlow, ProjectConfig};

use crate::error::EngineError;

/// Refuses a run of `flow` for `tenant` if a step's `uses:` plugin or
/// `model:` is not allowed by the tenant's capabilities. Tenants that are not
/// declared, or declare no capabilities, may use everything.
pub(crate) fn check_flow(
    project: &ProjectConfig,
    tenant: &str,
    flow: &CompiledFlow,
) -> Result<(), EngineError> {
    let Some(caps) = project.tenant_capabilities(tenant) else {
        return Ok(());
    };
    for step in &flow.steps {
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
    }
    Ok(())
}
