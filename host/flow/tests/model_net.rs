#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! A model's network keys in weft.yaml: allowed hosts, key variable, timeouts,
//! circuit breaker, and their defaults.

use std::path::Path;
use std::time::Duration;

use weft_flow::{CircuitConfig, ModelTimeouts, ProjectConfig};

const PROJECT: &str = r#"
id_prefix: acme
plugins:
  openai-compat: { path: plugins/openai-compat.wasm, kind: model }
models:
  gpt:
    adapter: openai-compat
    config: { endpoint: "https://api.openai.com/v1", model: gpt-4o-mini }
    allowed_hosts: [api.openai.com, "*.openai.azure.com", "localhost:11434", "[::1]:8080"]
    api_key_env: OPENAI_API_KEY
    timeouts: { connect: 2s, first_byte: 45s }
    circuit: { failures: 3, cool_down: 1m }
  local:
    adapter: openai-compat
    config: { endpoint: "http://localhost:11434/v1" }
"#;

#[test]
fn every_network_key_is_read_and_the_rest_default() {
    let p = ProjectConfig::parse("weft.yaml", PROJECT, Path::new(".")).unwrap();
    let gpt = &p.models["gpt"].net;
    let hosts: Vec<String> = gpt.allowed_hosts.iter().map(ToString::to_string).collect();
    assert_eq!(
        hosts,
        [
            "api.openai.com",
            "*.openai.azure.com",
            "localhost:11434",
            "[::1]:8080"
        ]
    );
    assert_eq!(gpt.api_key_env.as_deref(), Some("OPENAI_API_KEY"));
    assert_eq!(gpt.timeouts.connect, Duration::from_secs(2));
    assert_eq!(gpt.timeouts.first_byte, Duration::from_secs(45));
    assert_eq!(
        gpt.timeouts.between_bytes,
        ModelTimeouts::default().between_bytes
    );
    assert_eq!(
        gpt.circuit,
        CircuitConfig {
            failures: 3,
            cool_down: Duration::from_secs(60)
        }
    );
    let local = &p.models["local"].net;
    assert!(local.allowed_hosts.is_empty(), "no host unless listed");
    assert_eq!(local.api_key_env, None);
    assert_eq!(local.circuit, CircuitConfig::default());
}
