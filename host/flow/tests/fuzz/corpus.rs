//! The real inputs the structure-aware targets mutate: every flow file and
//! `weft.yaml` in the repository (flows/, the UI fixtures, the test projects).

use std::path::{Path, PathBuf};

use weft_flow::ProjectConfig;

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// The flow files: flows/ and the UI fixtures (valid and invalid ones).
pub fn flows() -> Vec<String> {
    let root = repo();
    let mut all = yaml_files(&root.join("flows"));
    all.extend(yaml_files(&root.join("host/flow/tests/ui")));
    assert!(all.len() > 10, "the corpus is missing: {}", all.len());
    all
}

/// The `weft.yaml` files.
pub fn projects() -> Vec<String> {
    let root = repo();
    let mut all = vec![std::fs::read_to_string(root.join("weft.yaml")).unwrap()];
    all.extend(yaml_files(&root.join("host/flow/tests/project")));
    all
}

/// The repository's project, which the flows in flows/ validate against.
pub fn project() -> ProjectConfig {
    ProjectConfig::load(&repo().join("weft.yaml")).unwrap()
}

/// Keys a flow file may hold, for mutations that add one.
pub const FLOW_KEYS: &[&str] = &[
    "id",
    "version",
    "description",
    "inputs",
    "steps",
    "defaults",
    "schedule",
    "id_prefix",
    "uses",
    "with",
    "needs",
    "timeout",
    "retry",
    "pool",
    "model",
    "max_model_calls",
    "max_tool_calls",
    "type",
    "required",
    "default",
    "cron",
    "timezone",
    "input",
    "missed",
    "max_attempts",
    "backoff",
    "strategy",
    "config",
];

/// Keys a `weft.yaml` may hold, for mutations that add one.
pub const PROJECT_KEYS: &[&str] = &[
    "id_prefix",
    "plugins",
    "models",
    "defaults",
    "state",
    "tenants",
    "auth",
    "search",
    "pools",
    "auto_assign",
    "idempotency",
    "limits",
    "store",
    "ttl",
    "path",
    "kind",
    "config",
    "adapter",
    "price",
    "pool",
    "allowed_hosts",
    "api_key_env",
    "timeouts",
    "circuit",
    "tokens",
    "role",
    "input_per_million_usd",
    "output_per_million_usd",
    "by_model",
    "per_minute",
    "burst",
    "from",
    "pattern",
    "postgres",
    "url",
    "connect",
    "first_byte",
    "between_bytes",
    "failures",
    "cool_down",
    "capabilities",
    "hosts",
];
