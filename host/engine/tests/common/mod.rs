//! Helpers of the engine tests: a project on the real plugins, flows from text,
//! an engine in a temp folder, ledger counts.
#![allow(dead_code, reason = "each test file uses a part of the helpers")]

use std::path::Path;

use weft_engine::{Engine, EngineOptions};
use weft_flow::{CompiledFlow, ProjectConfig, compile_flow};
use weft_store_api::Store;

/// A project on the Rust plugins of plugins/dist (quick to compile), with a
/// healthy model `mock` and a model `flaky` whose every call fails transiently.
pub const PROJECT: &str = r#"
id_prefix: test
plugins:
  echo: { path: plugins/dist/echo.wasm, kind: step }
  prompt: { path: plugins/dist/prompt.wasm, kind: step }
  json-transform: { path: plugins/dist/json-transform.wasm, kind: step }
  mock-model: { path: plugins/dist/mock-model.wasm, kind: model }
  exp-backoff:
    path: plugins/dist/exp-backoff.wasm
    kind: retry
    config: { base_ms: 5, jitter_ms: 0, max_attempts: 5 }
models:
  mock: { adapter: mock-model }
  flaky: { adapter: mock-model, config: { fail: transient } }
"#;

/// `source` parsed as weft.yaml with the repository root as its folder.
pub fn project_from(source: &str) -> ProjectConfig {
    ProjectConfig::parse("weft.yaml", source, &weft_tests::repo_root())
        .unwrap_or_else(|d| panic!("test project is invalid:\n{d}"))
}

/// The test project.
pub fn project() -> ProjectConfig {
    project_from(PROJECT)
}

/// A flow compiled from `source`.
pub fn flow(project: &ProjectConfig, source: &str) -> CompiledFlow {
    compile_flow("test-flow.yaml", source, project)
        .unwrap_or_else(|d| panic!("test flow is invalid:\n{d}"))
}

/// An engine on `project` and `flows` with its state in `dir`.
pub async fn engine(
    dir: &Path,
    project: ProjectConfig,
    flows: Vec<CompiledFlow>,
    options: EngineOptions,
) -> Engine {
    Engine::open_with(project, flows, dir, options)
        .await
        .unwrap_or_else(|e| panic!("engine did not open: {e}"))
}

/// How many ledger events of `kind` the run has (for `step` only, if given).
pub async fn count(store: &dyn Store, run: &str, kind: &str, step: Option<&str>) -> usize {
    store
        .ledger(run)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .filter(|e| step.is_none_or(|s| e.payload["step"] == s))
        .count()
}
