//! Helpers shared by weft's end-to-end tests and benchmarks: where the built
//! plugins are, a runtime set up as the tests want it, and the `weft` binary.

pub mod wit_reference;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use weft_core::{PluginKind, RunInfo};
use weft_runtime::{CallContext, CallLimits, LoadError, Plugin, Runtime, RuntimeConfig};

/// The folder the build script built every plugin into.
pub fn plugin_dir() -> PathBuf {
    PathBuf::from(env!("WEFT_PLUGIN_DIR"))
}

/// The path of a built plugin, e.g. `plugin_path("echo")`.
pub fn plugin_path(name: &str) -> PathBuf {
    plugin_dir().join(format!("{name}.wasm"))
}

/// The bytes of a built plugin. Panics with the path if it is missing: the build
/// script should have made it.
pub fn plugin_bytes(name: &str) -> Vec<u8> {
    let path = plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A runtime with a small instance pool, so that a leaked instance slot would
/// make later calls fail. Compiled components are shared between test processes
/// through a disk cache in the build folder (the Python and JavaScript components
/// take seconds to compile).
pub fn runtime() -> Runtime {
    runtime_with(RuntimeConfig {
        max_live_instances: 16,
        cache_dir: Some(component_cache_dir()),
        ..RuntimeConfig::default()
    })
}

/// The compiled-component cache the tests share (in the build folder).
pub fn component_cache_dir() -> PathBuf {
    PathBuf::from(env!("OUT_DIR")).join("component-cache")
}

/// A runtime with the given config. Panics if the engine cannot be built.
pub fn runtime_with(config: RuntimeConfig) -> Runtime {
    Runtime::new(config).unwrap_or_else(|e| panic!("runtime: {e}"))
}

/// Load a built plugin as `kind`.
pub async fn load(
    runtime: &Runtime,
    name: &str,
    kind: PluginKind,
) -> Result<Arc<Plugin>, LoadError> {
    runtime.load(name, &plugin_bytes(name), kind).await
}

/// A call context with default limits and the given timeout in milliseconds.
pub fn ctx_with(limits: CallLimits) -> CallContext {
    CallContext::new(limits)
}

/// A plain call context with the default limits.
pub fn ctx() -> CallContext {
    CallContext::new(CallLimits::default())
}

/// The run info the tests pass to steps.
pub fn run_info(step: &str) -> RunInfo {
    RunInfo {
        run_id: "test-2026-11-22-001-abc".into(),
        flow_id: "tests".into(),
        step_id: step.into(),
        attempt: 1,
        tenant: "default".into(),
    }
}

/// Wrap a core module (WAT text) that exports `weft:plugin/step@0.1.0#run` into
/// a step-plugin component, as `wasm-tools component new` would.
pub fn step_component_from_wat(wat_path: &Path) -> Vec<u8> {
    let wat =
        std::fs::read_to_string(wat_path).unwrap_or_else(|e| panic!("{}: {e}", wat_path.display()));
    let mut module = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{}: {e}", wat_path.display()));
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve
        .push_dir(repo_root().join("wit"))
        .unwrap_or_else(|e| panic!("wit/: {e:#}"));
    let world = resolve
        .select_world(&[pkg], Some("step-plugin"))
        .unwrap_or_else(|e| panic!("world: {e:#}"));
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap_or_else(|e| panic!("embed: {e:#}"));
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("encode {}: {e:#}", wat_path.display()))
}

/// Add `count` instantiations of an empty core module to the end of a component,
/// keeping its exports: an instance bomb. Appending (rather than inserting) keeps
/// every existing index valid.
pub fn with_extra_core_instances(component: &[u8], count: usize) -> Vec<u8> {
    let text = wasmprinter::print_bytes(component).unwrap_or_else(|e| panic!("print: {e:#}"));
    let body = text
        .trim_end()
        .strip_suffix(')')
        .unwrap_or_else(|| panic!("unexpected component text ending"));
    let mut bomb = String::from(body);
    bomb.push_str("\n  (core module $weft_bomb)\n");
    for _ in 0..count {
        bomb.push_str("  (core instance (instantiate $weft_bomb))\n");
    }
    bomb.push(')');
    wat::parse_str(&bomb).unwrap_or_else(|e| panic!("reparse: {e:#}"))
}
