#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! The retry policy of a step for which nothing names one: `exp-backoff` with no
//! overrides when weft.yaml declares it as a retry plugin, none (and no
//! validation error) when it does not.

use std::path::Path;

use serde_json::json;
use weft_flow::{NoDefaultRetry, PluginRole, ProjectConfig, compile_flow};

const FLOW: &str = "\
id: greet
steps:
  hello:
    uses: echo
  shout:
    uses: echo
    needs: [hello]
    retry: { strategy: exp-backoff, max_attempts: 2 }
";

fn project(plugins: &str) -> ProjectConfig {
    let source = format!(
        "id_prefix: acme\nplugins:\n  echo: {{ path: plugins/echo.wasm, kind: step }}\n{plugins}"
    );
    ProjectConfig::parse("weft.yaml", &source, Path::new("/srv/acme")).unwrap()
}

#[test]
fn a_step_naming_no_retry_gets_the_declared_exp_backoff() {
    let project = project("  exp-backoff: { path: plugins/exp-backoff.wasm, kind: retry }\n");
    let flow = compile_flow("flows/greet.yaml", FLOW, &project).unwrap();
    let hello = flow.step("hello").unwrap().retry.clone().unwrap();
    assert_eq!(hello.strategy, "exp-backoff");
    assert_eq!(hello.config, json!({}));
    // An explicit block is kept as written.
    let shout = flow.step("shout").unwrap().retry.clone().unwrap();
    assert_eq!(shout.config, json!({"max_attempts": 2}));
    // The implied use is at the step, so the engine loads the plugin and
    // `weft validate` checks its component.
    let uses: Vec<String> = flow
        .plugin_uses
        .iter()
        .filter(|u| matches!(u.role, PluginRole::RetryStrategy { .. }))
        .map(|u| format!("{} {:?} {}", u.plugin, u.role, u.location))
        .collect();
    assert_eq!(
        uses,
        [
            "exp-backoff RetryStrategy { defaulted: true } flows/greet.yaml:3:3",
            "exp-backoff RetryStrategy { defaulted: false } flows/greet.yaml:8:24",
        ]
    );
}

#[test]
fn without_exp_backoff_a_step_naming_no_retry_has_none_and_validates() {
    let project = project("");
    let src = "id: greet\nsteps:\n  hello: { uses: echo }\n";
    let flow = compile_flow("flows/greet.yaml", src, &project).unwrap();
    assert_eq!(flow.step("hello").unwrap().retry, None);
    assert!(flow.plugin_uses.iter().all(|u| u.role == PluginRole::Step));
    assert_eq!(
        project.default_retry().unwrap_err().to_string(),
        "the default `exp-backoff` is not a plugin in weft.yaml \
         (declare it under `plugins:` with `kind: retry`, or give the step a `retry:` block)"
    );
}

#[test]
fn an_exp_backoff_of_another_kind_is_not_the_default() {
    let project = project("  exp-backoff: { path: plugins/exp-backoff.wasm, kind: step }\n");
    let src = "id: greet\nsteps:\n  hello: { uses: echo }\n";
    let flow = compile_flow("flows/greet.yaml", src, &project).unwrap();
    assert_eq!(flow.step("hello").unwrap().retry, None);
    let err = project.default_retry().unwrap_err();
    assert!(matches!(err, NoDefaultRetry::WrongKind { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "the default `exp-backoff` is a step plugin in weft.yaml, not a retry plugin"
        ),
        "{err}"
    );
}
