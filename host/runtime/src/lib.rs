//! The weft Wasm runtime.
//!
//! One wasmtime [`Engine`](wasmtime::Engine) per process (component model, async,
//! pooling allocator, epoch interruption), the project's only `bindgen!`
//! ([`bindings`](crate::bindings) is private), a component cache keyed by content
//! hash with serialized artifacts on disk, and the sandbox every call runs in:
//! a fresh `Store` per call from an `InstancePre`, a wall-clock deadline, a memory
//! cap, an output cap, and WASI with nothing granted (model adapters: outgoing
//! HTTP to the hosts of their [`HttpPolicy`] only).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use weft_runtime::{CallContext, CallLimits, Runtime, RuntimeConfig};
//! use weft_core::{PluginKind, RunInfo};
//!
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! let echo = runtime.load_file("echo.wasm".as_ref(), PluginKind::Step).await?;
//! let info = RunInfo { run_id: "r".into(), flow_id: "f".into(), step_id: "s".into(), attempt: 1, tenant: "default".into() };
//! let out = echo.run_step(&CallContext::new(CallLimits::default()), &info, "{}", r#"{"x":1}"#).await?;
//! assert_eq!(out, r#"{"x":1}"#);
//! # Ok(()) }
//! ```

mod bindings;
mod cache;
mod convert;
mod engine;
mod epoch;
mod error;
mod host_api;
mod http_policy;
mod limits;
mod memory_decl;
mod plugin;
mod sniff;
mod state;
#[cfg(test)]
mod state_fuzz;
mod world;

pub use cache::ComponentOrigin;
pub use engine::{Inspection, Runtime, RuntimeConfig, read};
pub use error::{CallError, LoadError, StderrTail};
pub use host_api::{
    CallContext, LogLine, LogSink, MemoryLog, SingleAdapterHost, StepHost, TracingLog,
};
pub use http_policy::{API_KEY_PLACEHOLDER, HttpPolicy, HttpPolicyError, HttpTimeouts};
pub use limits::CallLimits;
pub use plugin::{Plugin, bench};
pub use weft_core::{HostRule, HostRuleError};
pub use world::ComponentShape;
