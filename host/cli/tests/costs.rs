//! Costs and capabilities through a real `weft daemon` on loopback: a tenant's
//! submit of a flow with a forbidden plugin is `403`; model calls of the priced
//! mock model are charged; `GET /v1/costs` shows a tenant only its own costs;
//! `weft costs --json` through the daemon and from the store agree; the metric
//! `weft_cost_usd_total` carries the totals; each run carries its own cost
//! (`GET /v1/runs/{id}`, `weft runs status`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use serde_json::{Value, json};

#[path = "common/daemon.rs"]
mod daemon_support;

#[path = "common/auth.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod auth_support;

use auth_support::{
    ACME, ADMIN, Cred, GLOBEX, append_to_weft_yaml, call, text, weft, write_project_with_tokens,
};
use daemon_support::Daemon;
use weft_tests::plugin_path;

/// Output tokens at $10 per million; every call is capped at 3 output tokens
/// (the mock's answers are longer): 30 000 micro-dollars a call.
const CALL_MICRO: u64 = 30_000;

fn write_project(dir: &std::path::Path) {
    write_project_with_tokens(dir);
    for p in ["prompt", "mock-model"] {
        std::fs::copy(plugin_path(p), dir.join(format!("plugins/{p}.wasm"))).unwrap();
    }
    // Appended after the tenants block: acme gets capabilities and a budget.
    let yaml = std::fs::read_to_string(dir.join("weft.yaml")).unwrap();
    let yaml = yaml.replace(
        "  acme:\n",
        "  acme:\n    capabilities: { plugins: [prompt], models: [mock] }\n    budget_usd_daily: 1.00\n",
    );
    std::fs::write(dir.join("weft.yaml"), yaml).unwrap();
    append_to_weft_yaml(
        dir,
        "models:\n  mock:\n    adapter: mock-model\n    price: { input_per_million_usd: 0, output_per_million_usd: 10000 }\n",
    );
    let yaml = std::fs::read_to_string(dir.join("weft.yaml")).unwrap();
    let yaml = yaml.replace(
        "plugins:\n",
        "plugins:\n  prompt: { path: plugins/prompt.wasm, kind: step }\n  mock-model: { path: plugins/mock-model.wasm, kind: model }\n",
    );
    std::fs::write(dir.join("weft.yaml"), yaml).unwrap();
    std::fs::write(
        dir.join("flows/ask.yaml"),
        "id: ask\nsteps:\n  ask:\n    uses: prompt\n    model: mock\n    with: { template: \"Say hello\", max_tokens: 3 }\n",
    )
    .unwrap();
}

fn run_ask(url: &str, token: &str) -> String {
    let body = json!({"flow": "ask", "input": {}});
    let a = call(url, "POST", "/v1/runs", Cred::Token(token), Some(body));
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["run_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/runs/{id}?wait=60");
    let a = call(url, "GET", &path, Cred::Token(token), None);
    assert_eq!(a.body["run"]["status"], "succeeded", "{}", a.body);
    // The run's own cost is on the run the API answers with.
    let cost = &a.body["run"]["cost"];
    assert_eq!(cost["calls"], 1, "{}", a.body);
    assert_eq!(cost["micro_usd"], CALL_MICRO, "{}", a.body);
    assert_eq!(cost["output_tokens"], 3, "{}", a.body);
    assert_eq!(cost["usd"], 0.03, "{}", a.body);
    id
}

fn total(costs: &Value) -> u64 {
    costs["total"]["micro_usd"].as_u64().unwrap()
}

#[test]
fn costs_are_charged_per_tenant_and_each_tenant_sees_its_own() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let daemon = Daemon::start_with(dir.path(), &[]);
    let url = &daemon.url;

    // acme may use only `prompt`: the echo chain is refused, naming the plugin.
    let body = json!({"flow": "chain", "input": {"n": 1}});
    let a = call(
        url,
        "POST",
        "/v1/runs",
        Cred::Token(ACME),
        Some(body.clone()),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let error = a.body["error"].as_str().unwrap();
    assert!(
        error.contains("tenant `acme` may not use plugin `echo`"),
        "{error}"
    );
    let a = call(url, "POST", "/v1/runs", Cred::Token(GLOBEX), Some(body));
    assert_eq!(a.status, 201, "globex has no capabilities list: {}", a.body);

    let first = run_ask(url, ACME);
    run_ask(url, ACME);
    run_ask(url, GLOBEX);

    // `weft runs status` through the daemon shows what the run was charged.
    let out = weft(
        dir.path(),
        Some(ACME),
        &["runs", "status", &first, "--json", "--daemon", url],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["cost_usd"], 0.03, "{status}");
    assert_eq!(status["cost"]["calls"], 1, "{status}");
    let out = weft(
        dir.path(),
        Some(ACME),
        &["runs", "status", &first, "--daemon", url],
    );
    let shown = text(&out.stdout);
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("cost     $0.030000 (1 model call, ")
                && l.ends_with(" input + 3 output tokens)")),
        "{shown}"
    );

    let mine = call(url, "GET", "/v1/costs", Cred::Token(ACME), None);
    assert_eq!(mine.status, 200, "{}", mine.body);
    let rows = mine.body["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["tenant"] == "acme"), "{rows:?}");
    assert_eq!(total(&mine.body), 2 * CALL_MICRO);
    assert_eq!(mine.body["total"]["calls"], 2);
    let other = call(
        url,
        "GET",
        "/v1/costs?tenant=globex",
        Cred::Token(ACME),
        None,
    );
    assert_eq!(other.status, 403, "{}", other.body);

    let all = call(url, "GET", "/v1/costs", Cred::Token(ADMIN), None);
    assert_eq!(total(&all.body), 3 * CALL_MICRO);
    let cli = weft(
        dir.path(),
        Some(ADMIN),
        &["costs", "--json", "--daemon", url],
    );
    assert!(cli.status.success(), "{}", text(&cli.stderr));
    let via_daemon: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(via_daemon, all.body);

    let metrics = call(url, "GET", "/metrics", Cred::Token(ADMIN), None);
    let metrics = metrics.body.as_str().unwrap().to_owned();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("weft_cost_usd_total{") && l.contains("tenant=\"acme\""))
        .unwrap_or_else(|| panic!("no acme cost metric in:\n{metrics}"));
    assert!(line.ends_with(" 0.06"), "{line}");
    // Each tenant's token is refused at /metrics, and the refusal names no
    // tenant's series or spend (issue 13).
    for (token, other) in [(ACME, "globex"), (GLOBEX, "acme")] {
        let scrape = call(url, "GET", "/metrics", Cred::Token(token), None);
        assert_eq!(scrape.status, 403, "{}", scrape.body);
        let body = scrape.body.to_string();
        assert!(!body.contains("weft_cost_usd_total"), "{body}");
        assert!(!body.contains(other), "{body}");
    }

    daemon.stop();
    // The store, read without the daemon, has the same numbers.
    let state = dir.path().join("state").display().to_string();
    let local = weft(dir.path(), None, &["costs", "--json", "--state", &state]);
    assert!(local.status.success(), "{}", text(&local.stderr));
    let from_store: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(from_store, all.body);
    let table = weft(
        dir.path(),
        None,
        &[
            "costs", "--tenant", "globex", "--since", "7d", "--state", &state,
        ],
    );
    let table = text(&table.stdout);
    assert!(
        table.contains("globex") && !table.contains("acme"),
        "{table}"
    );
    assert!(table.contains("$0.030000"), "{table}");
}
