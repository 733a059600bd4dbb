//! Flow files and `weft.yaml`: YAML → validated → compiled, with rustc-style
//! errors that say where (file, line, column), what was expected, and what was
//! probably meant.
//!
//! Both kinds of file start as a node tree with positions ([`yaml`], saphyr's
//! marked YAML). Every stage records each problem as a [`Diagnostic`] and goes
//! on with what it could read, so one call reports every error.
//!
//! `weft.yaml` ([`ProjectConfig::parse`]), in three stages:
//! 1. *authored* (`project_authored`): each section decoded on its own into what
//!    was written — names, positions, raw values — with no name looked up in
//!    another section;
//! 2. *validated* (`project_validate`): the references between sections (pool
//!    policies, model adapters and pools, `auto_assign`, `defaults`, tenants'
//!    capabilities, token hashes) checked in one function, in the order of what
//!    refers to what;
//! 3. *resolved*: the [`ProjectConfig`] built from the validated parts, with the
//!    defaults of what was not written.
//!
//! A flow file ([`compile_flow`]): `authored` (what was written), then
//! `validate` (names, needs, cycles, templates, plugin kinds, checked against
//! the [`ProjectConfig`]) → [`CompiledFlow`]. The checks of a name that points
//! into `weft.yaml` (`refs`) are the same for both.
//!
//! At run time the engine calls [`CompiledFlow::check_input`] on a run's input,
//! [`CompiledFlow::decide`] on each step whose needs have ended (its `if:`), and
//! [`render`] on each step's `with:`. Both use the expression language of
//! [`expr`].

mod authored;
pub mod capabilities;
mod common;
mod compiled;
mod condition;
mod decide;
mod decode;
mod default_retry;
pub mod diagnostic;
mod error;
pub mod expr;
mod fire_times;
pub mod glob;
mod graph;
pub mod id_prefix;
mod inputs;
mod ledger_decl;
pub mod limits;
mod load;
mod model_decl;
mod model_net;
mod plugin_decl;
mod plugin_use;
pub mod pools;
pub mod project;
mod project_authored;
mod project_validate;
mod refs;
mod render;
mod schedule;
mod schedule_lint;
mod search_decl;
mod store_decl;
pub mod template;
mod template_check;
pub mod tenants;
mod tokens;
mod validate;
pub mod yaml;

pub use authored::{FLOW_KEYS, STEP_KEYS};
pub use capabilities::{Capabilities, OnBudgetExceeded};
pub use common::{DEFAULT_RETRY_STRATEGY, DEFAULT_TIMEOUT, RetryPolicy};
pub use compiled::{
    CompiledFlow, CompiledStep, DEFAULT_MAX_MODEL_CALLS, DEFAULT_MAX_TOOL_CALLS, MAX_CALLS_CAP,
};
pub use condition::{Condition, ConditionError, Decision};
pub use decode::{Spanned, check_name};
pub use default_retry::NoDefaultRetry;
pub use diagnostic::{Diagnostic, Diagnostics, Location};
pub use error::LoadError;
pub use expr::StepStatus;
pub use glob::glob_match;
pub use id_prefix::{IdPrefixDecl, PathPrefix, PrefixFromPath};
pub use inputs::{InputError, InputSpec, InputType};
pub use ledger_decl::LedgerDecl;
pub use limits::Limits;
pub use load::{FlowSet, compile_flow, flow_files, load_flow, load_flow_dir};
pub use model_net::{CircuitConfig, ModelNet, ModelTimeouts};
pub use plugin_use::{PluginRole, PluginUse};
pub use pools::{DEFAULT_POOL, OnExhausted, PoolDecl, RateLimit};
pub use project::{
    DEFAULT_IDEMPOTENCY_TTL, ModelDecl, PluginDecl, Price, ProjectConfig, ProjectDefaults,
};
pub use render::{TemplateContext, TemplateError, lookup, render};
pub use schedule::{Missed, Schedule};
pub use schedule_lint::schedule_warnings;
pub use search_decl::SearchDecl;
pub use store_decl::{PostgresDecl, StoreDecl};
pub use tenants::{AuthDecl, TenantDecl, TokenDecl, check_tenant_name};
/// weft's one duration grammar (kept in `weft-core`, which the search index
/// and the CLI share).
pub use weft_core::duration;
