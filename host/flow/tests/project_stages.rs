#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! `weft.yaml` is decoded section by section, then its references are checked
//! in one place: what that must keep doing whatever the order of the sections
//! in the file, and an error in one section never hiding one in another.

use std::path::Path;

use weft_flow::{PluginRole, ProjectConfig};

fn parse(text: &str) -> Result<ProjectConfig, String> {
    ProjectConfig::parse("weft.yaml", text, Path::new("/srv")).map_err(|d| d.to_string())
}

/// A valid token hash made of `c`.
fn hash(c: char) -> String {
    c.to_string().repeat(64)
}

#[test]
fn references_hold_whatever_the_order_of_the_sections() {
    // Models and defaults before the pools and plugins they name.
    let p = parse(
        "id_prefix: acme\n\
         defaults: { pool: gpu, retry: { strategy: backoff } }\n\
         models:\n  llama: { adapter: local, pool: gpu }\n\
         auto_assign: { by_model: { \"gpt-*\": gpu } }\n\
         pools:\n  gpu: { max_concurrent: 2 }\n\
         plugins:\n  local: { path: l.wasm, kind: model }\n  backoff: { path: b.wasm, kind: retry }\n",
    )
    .unwrap();
    assert_eq!(p.model_pool("llama").as_deref(), Some("gpu"));
    assert_eq!(p.model_pool("gpt-4o").as_deref(), Some("gpu"));
    assert_eq!(p.defaults.pool.as_deref(), Some("gpu"));
    assert!(p.pool("default").is_some(), "`default` is implied");
}

#[test]
fn a_pool_named_before_pools_is_still_checked_with_a_hint() {
    let e = parse(
        "id_prefix: acme\n\
         models:\n  llama: { adapter: local, pool: gpuu }\n\
         plugins:\n  local: { path: l.wasm, kind: model }\n\
         pools:\n  gpu: {}\n",
    )
    .unwrap_err();
    assert!(e.contains("unknown pool `gpuu`"), "{e}");
    assert!(e.contains("weft.yaml:3:34"), "{e}");
    assert!(e.contains("did you mean `gpu`?"), "{e}");
    assert!(e.contains("default or gpu"), "{e}");
}

#[test]
fn an_error_in_one_section_does_not_hide_one_in_another() {
    let e = parse(&format!(
        "id_prefix: acme\n\
         plugins:\n  \
           echo: {{ path: e.wasm, kind: stepp }}\n  \
           local: {{ path: l.wasm, kind: model }}\n\
         pools:\n  gpu: {{ policy: local }}\n\
         models:\n  llama: {{ adapter: echo, config: 3 }}\n\
         tenants:\n  acme:\n    capabilities: {{ models: [llama], plugins: [echo] }}\n    \
             tokens: [ {{ name: ci, sha256: \"{0}\" }} ]\n\
         auth:\n  admin_tokens: [ {{ name: ops, sha256: \"{0}\" }} ]\n\
         store: {{ backend: postgress }}\n",
        hash('a')
    ))
    .unwrap_err();
    for (want, at) in [
        // plugins: a bad kind leaves `echo` out...
        (
            "invalid value `stepp` for `plugins.echo.kind`",
            "weft.yaml:3:31",
        ),
        // ...pools: a policy of the wrong kind...
        (
            "plugin `local` is a model plugin, but `pool` needs a pool plugin",
            "weft.yaml:6:18",
        ),
        // ...models: so `echo` is unknown, and a bad config leaves `llama` out...
        (
            "unknown plugin `echo` for a model `adapter`",
            "weft.yaml:8:21",
        ),
        ("wrong type for `models.llama.config`", "weft.yaml:8:35"),
        // ...tenants: so both are unknown to capabilities...
        (
            "`tenants.acme.capabilities.models` names unknown model `llama`",
            "weft.yaml:11:30",
        ),
        (
            "`tenants.acme.capabilities.plugins` names unknown plugin `echo`",
            "weft.yaml:11:48",
        ),
        // ...auth: a hash used by a tenant...
        (
            "token `ops` in `auth.admin_tokens` has the same sha256",
            "weft.yaml:14:",
        ),
        // ...and a section that names nothing.
        ("postgress", "weft.yaml:15:"),
    ] {
        let line = e.lines().position(|l| l.contains(want));
        let place = line.and_then(|i| e.lines().nth(i + 1)).unwrap_or_default();
        assert!(place.contains(at), "`{want}` at {at}:\n{e}");
    }
    assert!(e.contains("error: 8 errors found"), "{e}");
}

#[test]
fn tenants_tokens_are_admitted_before_auths_wherever_auth_is_written() {
    let e = parse(&format!(
        "id_prefix: acme\n\
         auth:\n  admin_tokens: [ {{ name: ops, sha256: \"{0}\" }} ]\n\
         tenants:\n  acme: {{ tokens: [ {{ name: ci, sha256: \"{0}\" }} ] }}\n",
        hash('b')
    ))
    .unwrap_err();
    assert!(
        e.contains("token `ops` in `auth.admin_tokens` has the same sha256 as token `ci` in `tenants.acme.tokens`"),
        "{e}"
    );
    assert!(e.contains("weft.yaml:3:"), "{e}");
    assert!(
        e.contains("error: ") && !e.contains("errors found"),
        "one error: {e}"
    );
}

#[test]
fn a_token_refused_for_its_hash_does_not_take_its_name() {
    let e = parse(&format!(
        "id_prefix: acme\n\
         tenants:\n  acme:\n    tokens:\n      \
           - {{ name: ci, sha256: \"{0}\" }}\n      \
           - {{ name: bot, sha256: \"{0}\" }}\n      \
           - {{ name: bot, sha256: \"{1}\" }}\n",
        hash('c'),
        hash('d')
    ))
    .unwrap_err();
    assert!(
        e.contains("token `bot` in `tenants.acme.tokens` has the same sha256"),
        "{e}"
    );
    assert!(!e.contains("used twice"), "{e}");
}

#[test]
fn the_default_policy_and_the_plugin_uses_come_in_order() {
    let p = parse(
        "id_prefix: acme\n\
         defaults: { retry: { max_attempts: 3 } }\n\
         models:\n  m: { adapter: local }\n\
         pools:\n  gpu: {}\n  cpu: { policy: fair }\n\
         plugins:\n  \
           local: { path: l.wasm, kind: model }\n  \
           priority-fifo: { path: p.wasm, kind: pool }\n  \
           fair: { path: f.wasm, kind: pool }\n  \
           exp-backoff: { path: x.wasm, kind: retry }\n",
    )
    .unwrap();
    assert_eq!(
        p.pool("gpu").unwrap().policy.as_deref(),
        Some("priority-fifo")
    );
    assert_eq!(p.pool("cpu").unwrap().policy.as_deref(), Some("fair"));
    assert_eq!(
        p.pool("default").unwrap().policy.as_deref(),
        Some("priority-fifo")
    );
    let uses: Vec<(&str, PluginRole, String)> = p
        .plugin_uses
        .iter()
        .map(|u| (u.plugin.as_str(), u.role, u.location.to_string()))
        .collect();
    assert_eq!(
        uses,
        [
            (
                "priority-fifo",
                PluginRole::Pool,
                "weft.yaml:6:3".to_owned()
            ),
            ("fair", PluginRole::Pool, "weft.yaml:7:18".to_owned()),
            (
                "local",
                PluginRole::ModelAdapter,
                "weft.yaml:4:17".to_owned()
            ),
            (
                "exp-backoff",
                PluginRole::RetryStrategy { defaulted: true },
                "weft.yaml:2:13".to_owned()
            ),
        ]
    );
}

#[test]
fn what_is_not_written_is_resolved_to_its_default() {
    let p = parse("id_prefix: { from: path, pattern: \"flows/([a-z]+)/\" }\n").unwrap();
    assert_eq!(p.id_prefix, "weft");
    assert!(p.id_prefix_from_path.is_some());
    assert_eq!(p.state_dir, Path::new("/srv/.weft"));
    assert_eq!(p.idempotency_ttl, weft_flow::DEFAULT_IDEMPOTENCY_TTL);
    assert_eq!(p.pools.len(), 1);
    assert_eq!(p.pool("default").unwrap().policy, None);
    let p = parse("id_prefix: acme\nstate: var/weft\nidempotency: { ttl: 1h }\n").unwrap();
    assert_eq!(p.state_dir, Path::new("/srv/var/weft"));
    assert_eq!(p.idempotency_ttl.as_secs(), 3600);
}
