//! Flow files and `weft.yaml`: YAML → validated → compiled, with rustc-style
//! errors that say where (file, line, column), what was expected, and what was
//! probably meant.
//!
//! The stages, one module each:
//! 1. [`yaml`]: text → a node tree with positions (saphyr's marked YAML);
//! 2. `authored` / [`project`]: node tree → what was written, every bad key and
//!    type recorded as a [`Diagnostic`] and decoding going on;
//! 3. `validate`: names, needs, cycles, templates, plugin kinds → [`CompiledFlow`].
//!
//! At run time the engine calls [`CompiledFlow::check_input`] on a run's input and
//! [`render`] on each step's `with:`.

mod authored;
pub mod capabilities;
mod common;
mod compiled;
mod decode;
mod default_retry;
pub mod diagnostic;
pub mod duration;
mod error;
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
pub use decode::{Spanned, check_name};
pub use default_retry::NoDefaultRetry;
pub use diagnostic::{Diagnostic, Diagnostics, Location};
pub use error::LoadError;
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
