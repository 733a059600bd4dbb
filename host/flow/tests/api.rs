#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! The compiled form and the run-time API: defaults, input checks, plugin uses,
//! rendering a step's `with:`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use weft_core::PluginKind;
use weft_flow::{
    InputError, Missed, PluginRole, ProjectConfig, TemplateContext, compile_flow, render,
};

const PROJECT: &str = "\
id_prefix: acme
plugins:
  echo: { path: plugins/echo.wasm, kind: step }
  prompt: { path: plugins/prompt.wasm, kind: step }
  mock-model: { path: plugins/mock-model.wasm, kind: model }
  exp-backoff: { path: plugins/exp-backoff.wasm, kind: retry }
  fifo: { path: plugins/fifo.wasm, kind: pool }
models:
  mock: { adapter: mock-model }
  local-llama: { adapter: mock-model }
  gpt-big: { adapter: mock-model, pool: big }
pools:
  fast: { policy: fifo, max_concurrent: 3 }
  local: { policy: fifo }
  big: { max_concurrent: 1, on_exhausted: fail, rate_limit: { per_minute: 60, burst: 2 } }
auto_assign:
  by_model: { \"local-*\": local, \"gpt-*\": fast }
defaults:
  timeout: 45s
  pool: fast
";

const FLOW: &str = "\
id: greet
version: 3
inputs:
  name: { type: string, required: true }
  times: { type: integer, default: 2 }
  tags: { type: array }
defaults:
  retry: { max_attempts: 5 }
schedule:
  - cron: '0 0 * * * *'
    input: { name: cron }
steps:
  hello:
    uses: prompt
    model: mock
    timeout: 500ms
    with:
      who: ${{ input.name }}
      times: ${{ input.times }}
  shout:
    uses: echo
    needs: [hello]
    retry: { strategy: exp-backoff, base_ms: 10 }
    with:
      text: \"${{ steps.hello.output.text }}! x${{ input.times }}\"
      raw: ${{ steps.hello.output }}
";

fn project() -> ProjectConfig {
    ProjectConfig::parse("weft.yaml", PROJECT, Path::new("/srv/acme")).unwrap()
}

#[test]
fn defaults_are_applied_in_order() {
    let flow = compile_flow("flows/greet.yaml", FLOW, &project()).unwrap();
    assert_eq!((flow.id.as_str(), flow.version), ("greet", 3));
    let hello = flow.step("hello").unwrap();
    assert_eq!(hello.timeout, Duration::from_millis(500));
    assert_eq!(hello.pool.as_deref(), Some("fast"));
    let retry = hello.retry.as_ref().unwrap();
    assert_eq!(retry.strategy, "exp-backoff");
    assert_eq!(retry.config, json!({"max_attempts": 5}));
    let shout = flow.step("shout").unwrap();
    assert_eq!(shout.timeout, Duration::from_secs(45));
    assert_eq!(shout.retry.as_ref().unwrap().config, json!({"base_ms": 10}));
    assert_eq!(shout.model, None);
    assert_eq!(flow.schedules[0].missed, Missed::CatchUp(1));
    assert_eq!(flow.schedules[0].input, json!({"name": "cron"}));
}

#[test]
fn plugin_uses_say_where_and_what() {
    let flow = compile_flow("flows/greet.yaml", FLOW, &project()).unwrap();
    let uses: Vec<String> = flow
        .plugin_uses
        .iter()
        .map(|u| format!("{} {:?} {} {}", u.plugin, u.role, u.declared, u.location))
        .collect();
    assert_eq!(
        uses,
        [
            "prompt Step step flows/greet.yaml:14:11",
            "echo Step step flows/greet.yaml:21:11",
            "exp-backoff RetryStrategy { defaulted: false } retry flows/greet.yaml:23:24",
            "exp-backoff RetryStrategy { defaulted: true } retry flows/greet.yaml:8:3",
        ]
    );
    let u = &flow.plugin_uses[0];
    assert_eq!(u.path, Path::new("/srv/acme/plugins/prompt.wasm"));
    assert_eq!(u.expected_kind(), PluginKind::Step);
    let p = project();
    assert!(
        p.plugin_uses
            .iter()
            .any(|u| u.role == PluginRole::Pool && u.plugin == "fifo")
    );
}

#[test]
fn check_input_applies_defaults_and_rejects_bad_input() {
    let flow = compile_flow("flows/greet.yaml", FLOW, &project()).unwrap();
    assert_eq!(
        flow.check_input(&json!({"name": "Ada"})).unwrap(),
        json!({"name": "Ada", "times": 2})
    );
    let e = flow
        .check_input(&json!({"times": "3", "nmae": "x"}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid run input: `name` is required; `times` must be an integer, found a string; \
         unknown input `nmae` (did you mean `name`?)"
    );
    assert!(matches!(
        flow.check_input(&json!([1])),
        Err(InputError::NotAnObject { .. })
    ));
}

#[test]
fn render_a_compiled_step() {
    let flow = compile_flow("flows/greet.yaml", FLOW, &project()).unwrap();
    let input = flow.check_input(&json!({"name": "Ada"})).unwrap();
    let mut outputs = HashMap::new();
    outputs.insert("hello".to_owned(), json!({"text": "hi Ada"}));
    let ctx = TemplateContext {
        input: &input,
        step_outputs: &outputs,
    };
    let hello = render(&flow.step("hello").unwrap().with, &ctx).unwrap();
    assert_eq!(hello, json!({"who": "Ada", "times": 2}));
    let shout = render(&flow.step("shout").unwrap().with, &ctx).unwrap();
    assert_eq!(
        shout,
        json!({"text": "hi Ada! x2", "raw": {"text": "hi Ada"}})
    );
}

#[test]
fn every_error_is_collected_and_displayed_like_rustc() {
    let src = "id: x\nsteps:\n  a:\n    uses: ecoh\n    neds: [b]\n    timeout: 5\n";
    let errs = compile_flow("flows/x.yaml", src, &project()).unwrap_err();
    assert_eq!(errs.len(), 3);
    let first = &errs.0[0];
    assert_eq!(
        (first.file.as_str(), first.line, first.column),
        ("flows/x.yaml", 4, 11)
    );
    assert_eq!(first.help.as_deref(), Some("did you mean `echo`?"));
    assert_eq!(
        errs.0[1].to_string(),
        "error: unknown key `neds` in `steps.a`\n \
         --> flows/x.yaml:5:5\n  \
         |\n\
         5 |     neds: [b]\n  \
         |     ^^^^ expected one of uses, with, needs, if, timeout, retry, pool, model, max_model_calls, max_tool_calls\n  \
         |\n  \
         = help: did you mean `needs`?"
    );
}

#[test]
fn tenants_and_tokens_are_read_as_hashes() {
    let h = |c: char| c.to_string().repeat(64);
    let source = format!(
        "id_prefix: acme\ntenants:\n  acme:\n    tokens:\n      - {{ name: ci, sha256: \"{}\" }}\n      - {{ name: laptop, sha256: \"{}\" }}\n  globex:\n    tokens: [ {{ name: ci, sha256: \"{}\" }} ]\n  initech: {{}}\nauth:\n  admin_tokens: [ {{ name: ops, sha256: \"{}\" }} ]\n",
        h('a'),
        h('b'),
        h('c'),
        h('d')
    );
    let project = ProjectConfig::parse("weft.yaml", &source, Path::new("/srv")).unwrap();
    assert!(project.declares_tokens());
    let acme = &project.tenants["acme"];
    let names: Vec<_> = acme.tokens.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ci", "laptop"]);
    assert_eq!(acme.tokens[1].sha256, [0xbb; 32]);
    assert_eq!(acme.tokens[0].location.to_string(), "weft.yaml:5:9");
    assert_eq!(project.tenants["globex"].tokens[0].sha256, [0xcc; 32]);
    assert!(project.tenants["initech"].tokens.is_empty());
    assert_eq!(project.auth.admin_tokens[0].name, "ops");
    assert_eq!(project.auth.admin_tokens[0].sha256, [0xdd; 32]);
    assert!(project.auth.worker_tokens.is_empty());
    assert!(!self::project().declares_tokens());
    let only_tenant = "id_prefix: a\ntenants:\n  acme: { tokens: [] }\n";
    let p = ProjectConfig::parse("weft.yaml", only_tenant, Path::new("/srv")).unwrap();
    assert!(
        !p.declares_tokens(),
        "a tenant without tokens declares none"
    );
}

#[test]
fn pools_are_read_and_a_steps_pool_is_its_own_else_its_models_else_the_default() {
    let project = project();
    let big = project.pool("big").unwrap();
    assert_eq!(big.max_concurrent, 1);
    assert_eq!(big.on_exhausted, weft_flow::OnExhausted::Fail);
    assert_eq!(big.policy, None, "no policy and no `priority-fifo` plugin");
    let rate = big.rate_limit.unwrap();
    assert_eq!((rate.per_minute, rate.burst), (60.0, 2));
    assert_eq!(
        project.pool("fast").unwrap().policy.as_deref(),
        Some("fifo")
    );
    let default = project.pool("default").unwrap();
    assert_eq!(
        default.max_concurrent,
        weft_flow::pools::DEFAULT_MAX_CONCURRENT
    );
    assert_eq!(project.model_pool("local-llama").as_deref(), Some("local"));
    assert_eq!(
        project.model_pool("gpt-big").as_deref(),
        Some("big"),
        "a model's own pool wins over a glob"
    );
    assert_eq!(project.model_pool("mock"), None);
    let flow = "\
id: models
steps:
  own: { uses: echo, model: local-llama, pool: big }
  by-model: { uses: echo, model: local-llama }
  by-default: { uses: echo, model: mock }
";
    let flow = compile_flow("flows/models.yaml", flow, &project).unwrap();
    let pool = |id: &str| flow.step(id).unwrap().pool.clone().unwrap();
    assert_eq!(pool("own"), "big");
    assert_eq!(pool("by-model"), "local");
    assert_eq!(pool("by-default"), "fast", "weft.yaml's defaults.pool");
}
