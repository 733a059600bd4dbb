//! API tokens against a real `weft daemon` process on loopback: 401 without a
//! valid token on every endpoint family, 403 for a role that may not use an
//! endpoint, tenants that see only their own runs (another tenant's run answers
//! like one that does not exist, and an idempotency key is per tenant), and the
//! CLI sending `WEFT_TOKEN`. Starting the daemon and `weft token new`:
//! `auth_setup.rs`.
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
    ACME, ADMIN, Cred, GLOBEX, WORKER, call, submit, text, weft, write_project_with_tokens,
};
use daemon_support::Daemon;

fn listed_ids(url: &str, token: &str) -> Vec<String> {
    let a = call(url, "GET", "/v1/runs", Cred::Token(token), None);
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// One of each endpoint family, with a body that would change something if the
/// request got through.
const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/v1/runs"),
    ("GET", "/v1/runs"),
    ("GET", "/v1/runs/dmn-2026-01-01-001-abc"),
    ("GET", "/v1/runs/dmn-2026-01-01-001-abc/events"),
    ("GET", "/v1/runs/dmn-2026-01-01-001-abc/verify"),
    ("POST", "/v1/runs/dmn-2026-01-01-001-abc/cancel"),
    ("GET", "/v1/flows"),
    ("GET", "/v1/queue/stats"),
    ("GET", "/v1/dlq"),
    ("POST", "/v1/dlq/1/requeue"),
    ("DELETE", "/v1/dlq/1"),
    ("GET", "/v1/schedules"),
    ("POST", "/v1/schedules/chain/0/trigger"),
    ("POST", "/v1/schedules/chain/0/pause"),
    ("GET", "/v1/queue/next"),
    ("GET", "/v1/locks"),
    ("POST", "/v1/locks/nightly"),
    ("POST", "/v1/worker/lease"),
    ("POST", "/v1/worker/tasks/1/complete"),
    ("GET", "/v1/plugins/00"),
    ("GET", "/metrics"),
];

#[test]
fn requests_without_a_valid_token_are_refused_with_401_everywhere_but_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    write_project_with_tokens(dir.path());
    let daemon = Daemon::start_with(dir.path(), &[]);
    let url = &daemon.url;
    let bad = [
        (Cred::None, "missing API token"),
        (
            Cred::Header("Basic YWRtaW46YWRtaW4="),
            "malformed Authorization",
        ),
        (Cred::Header("Bearer"), "malformed Authorization"),
        (Cred::Header("Bearer two words"), "malformed Authorization"),
        (
            Cred::Token("weft_not-a-token-of-this-daemon"),
            "unknown API token",
        ),
        (Cred::Token(&ACME.to_uppercase()), "unknown API token"),
    ];
    for (method, path) in ENDPOINTS {
        for (cred, expected) in bad {
            let body = (*method == "POST").then(|| json!({"flow": "chain", "input": {"n": 1}}));
            let a = call(url, method, path, cred, body);
            let what = format!("{method} {path} with {cred:?}");
            assert_eq!(a.status, 401, "{what}: {}", a.body);
            let challenge = a.challenge.unwrap_or_default();
            assert!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
            let error = a.body["error"].as_str().unwrap_or_default();
            assert!(error.starts_with(expected), "{what}: {}", a.body);
        }
    }
    let health = call(url, "GET", "/healthz", Cred::None, None);
    assert_eq!((health.status, health.body), (200, json!("ok\n")));
    let ready = call(url, "GET", "/readyz", Cred::None, None);
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["ready"], true, "{}", ready.body);
    assert_eq!(ready.body["flows"], 1, "{}", ready.body);

    // Nothing got through: no run, no fire, no pause.
    assert!(listed_ids(url, ADMIN).is_empty());
    let schedules = call(url, "GET", "/v1/schedules", Cred::Token(ADMIN), None);
    assert_eq!(schedules.status, 200);
    assert_eq!(schedules.body["schedules"][0]["fires"], 0);
    assert_eq!(schedules.body["schedules"][0]["paused"], false);
}

/// `body` with `id` replaced, to compare the answers for two ids.
fn without(body: &Value, id: &str) -> String {
    body.to_string().replace(id, "<id>")
}

#[test]
fn a_tenant_sees_only_its_own_runs_and_another_tenants_run_looks_missing() {
    let dir = tempfile::tempdir().unwrap();
    write_project_with_tokens(dir.path());
    let daemon = Daemon::start_with(dir.path(), &[]);
    let url = &daemon.url;

    let (status, a) = submit(url, ACME, 1, Some("same-key"));
    assert_eq!(status, 201, "{a}");
    let acme_run = a["run_id"].as_str().unwrap().to_owned();
    // The same idempotency key from another tenant is another run.
    let (status, g) = submit(url, GLOBEX, 1, Some("same-key"));
    assert_eq!(status, 201, "{g}");
    let globex_run = g["run_id"].as_str().unwrap().to_owned();
    assert_ne!(acme_run, globex_run);
    let (status, again) = submit(url, ACME, 1, Some("same-key"));
    assert_eq!((status, &again["run_id"]), (200, &json!(acme_run)));

    let own = call(
        url,
        "GET",
        &format!("/v1/runs/{acme_run}"),
        Cred::Token(ACME),
        None,
    );
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["run"]["tenant"], "acme");

    // Every read and the cancel of acme's run by globex answer like a missing id.
    let ghost = format!("{}zz", &acme_run[..acme_run.len() - 2]);
    let reads = [
        ("GET", "{}"),
        ("GET", "{}?wait=30"),
        ("GET", "{}/events"),
        ("GET", "{}/events?after=0&wait=30"),
        ("GET", "{}/artifacts"),
        ("GET", "{}/verify"),
        ("POST", "{}/resume"),
        ("POST", "{}/cancel"),
    ];
    for (method, shape) in reads {
        let path = |id: &str| format!("/v1/runs/{}", shape.replace("{}", id));
        let foreign = call(url, method, &path(&acme_run), Cred::Token(GLOBEX), None);
        let missing = call(url, method, &path(&ghost), Cred::Token(GLOBEX), None);
        assert_eq!(foreign.status, 404, "{method} {shape}: {}", foreign.body);
        assert_eq!(missing.status, 404, "{method} {shape}: {}", missing.body);
        assert_eq!(
            without(&foreign.body, &acme_run),
            without(&missing.body, &ghost),
            "{method} {shape}"
        );
        if method == "GET" {
            let mine = call(url, method, &path(&acme_run), Cred::Token(ACME), None);
            assert_eq!(mine.status, 200, "{method} {shape} by acme");
        }
    }
    // globex's cancel did nothing: the run finishes.
    let done = call(
        url,
        "GET",
        &format!("/v1/runs/{acme_run}?wait=30"),
        Cred::Token(ACME),
        None,
    );
    assert_eq!(done.body["run"]["status"], "succeeded", "{}", done.body);

    let acme_sees = listed_ids(url, ACME);
    let globex_sees = listed_ids(url, GLOBEX);
    assert_eq!(acme_sees, [acme_run.as_str()]);
    assert_eq!(globex_sees, [globex_run.as_str()]);

    // An admin sees both, and its own runs belong to the engine's tenant.
    let (status, adm) = submit(url, ADMIN, 2, None);
    assert_eq!(status, 201, "{adm}");
    let admin_run = adm["run_id"].as_str().unwrap().to_owned();
    let mut all = listed_ids(url, ADMIN);
    all.sort();
    let mut expected = vec![acme_run.clone(), globex_run, admin_run.clone()];
    expected.sort();
    assert_eq!(all, expected);
    let theirs = call(
        url,
        "GET",
        &format!("/v1/runs/{acme_run}"),
        Cred::Token(ADMIN),
        None,
    );
    assert_eq!(theirs.status, 200);
    let admins = call(
        url,
        "GET",
        &format!("/v1/runs/{admin_run}"),
        Cred::Token(ADMIN),
        None,
    );
    assert_eq!(admins.body["run"]["tenant"], "default");
    assert!(!listed_ids(url, ACME).contains(&admin_run));
}

#[test]
fn each_role_may_use_only_its_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    write_project_with_tokens(dir.path());
    let daemon = Daemon::start_with(dir.path(), &[]);
    let url = &daemon.url;

    let operator = [
        ("GET", "/v1/dlq"),
        ("GET", "/v1/queue/stats"),
        ("GET", "/v1/schedules"),
        ("POST", "/v1/schedules/chain/0/trigger"),
        ("POST", "/v1/dlq/1/requeue"),
        ("DELETE", "/v1/dlq/1"),
        ("GET", "/v1/queue/next"),
        ("GET", "/v1/locks"),
        ("POST", "/v1/locks/nightly"),
    ];
    for (method, path) in operator {
        let a = call(url, method, path, Cred::Token(ACME), None);
        assert_eq!(a.status, 403, "tenant {method} {path}: {}", a.body);
        let error = a.body["error"].as_str().unwrap();
        assert!(
            error.contains("tenant token `ci` (tenant `acme`)") && error.contains("admin tokens"),
            "{error}"
        );
        assert!(
            a.challenge.is_none(),
            "a 403 is no authentication challenge"
        );
        let w = call(url, method, path, Cred::Token(WORKER), None);
        assert_eq!(w.status, 403, "worker {method} {path}: {}", w.body);
    }
    // A tenant may not act as a worker.
    for (method, path) in [
        ("POST", "/v1/worker/lease"),
        ("POST", "/v1/worker/tasks/1/complete"),
        ("GET", "/v1/plugins/00"),
    ] {
        let a = call(url, method, path, Cred::Token(ACME), None);
        assert_eq!(a.status, 403, "tenant {method} {path}: {}", a.body);
    }
    let runs_api = [
        ("GET", "/v1/runs"),
        ("POST", "/v1/runs"),
        ("GET", "/v1/flows"),
        ("GET", "/v1/runs/dmn-2026-01-01-001-abc/artifacts"),
    ];
    for (method, path) in runs_api {
        let body = (method == "POST").then(|| json!({"flow": "chain", "input": {"n": 1}}));
        let a = call(url, method, path, Cred::Token(WORKER), body);
        assert_eq!(a.status, 403, "worker {method} {path}: {}", a.body);
        assert!(
            a.body["error"]
                .as_str()
                .unwrap()
                .contains("worker token `k8s`"),
            "{}",
            a.body
        );
    }
    let flows = call(url, "GET", "/v1/flows", Cred::Token(ACME), None);
    assert_eq!(flows.status, 200);
    assert_eq!(flows.body["flows"][0]["id"], "chain");
    for (method, path) in [
        ("GET", "/v1/dlq"),
        ("GET", "/v1/queue/stats"),
        ("GET", "/v1/schedules"),
    ] {
        let a = call(url, method, path, Cred::Token(ADMIN), None);
        assert_eq!(a.status, 200, "admin {method} {path}: {}", a.body);
    }
    // The tenant's trigger was refused before it fired, and the worker's submit
    // made no run.
    let schedules = call(url, "GET", "/v1/schedules", Cred::Token(ADMIN), None);
    assert_eq!(schedules.body["schedules"][0]["fires"], 0);
    assert!(listed_ids(url, ADMIN).is_empty());
    for token in [WORKER, ADMIN] {
        let m = call(url, "GET", "/metrics", Cred::Token(token), None);
        assert_eq!(m.status, 200);
        assert!(m.body.as_str().unwrap().contains("weft_queue_inflight"));
    }
    // Metrics name every tenant: a tenant token is refused.
    let m = call(url, "GET", "/metrics", Cred::Token(ACME), None);
    assert_eq!(m.status, 403, "{}", m.body);
}

#[test]
fn the_cli_sends_weft_token_and_explains_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    write_project_with_tokens(dir.path());
    let daemon = Daemon::start_with(dir.path(), &[]);
    let url = daemon.url.as_str();
    let d = dir.path();

    let out = weft(
        d,
        Some(GLOBEX),
        &["enqueue", "chain", "-i", r#"{"n": 3}"#, "--daemon", url],
    );
    assert!(out.status.success(), "{out:?}");
    let globex_run = text(&out.stdout).trim().to_owned();
    let (status, a) = submit(url, ACME, 4, None);
    assert_eq!(status, 201);
    let acme_run = a["run_id"].as_str().unwrap();

    let list = ["runs", "list", "--json", "--daemon", url];
    let out = weft(d, None, &list);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("needs an API token: set WEFT_TOKEN"), "{err}");
    let out = weft(d, Some("weft_wrong"), &list);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("refused the token in WEFT_TOKEN: unknown API token"),
        "{err}"
    );

    let out = weft(d, Some(ACME), &list);
    assert!(out.status.success(), "{out:?}");
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [acme_run]);

    let out = weft(d, Some(ACME), &["queue", "stats", "--daemon", url]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("refused the token in WEFT_TOKEN for GET /v1/queue/stats")
            && err.contains("(403)"),
        "{err}"
    );
    // A tenant reads its own run's status (dead letters included) and not
    // another's.
    let status = ["runs", "status", &globex_run, "--json", "--daemon", url];
    let out = weft(d, Some(GLOBEX), &status);
    assert!(out.status.success(), "{out:?}");
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["tenant"], "globex", "{shown}");
    assert_eq!(shown["dead_letters"], json!([]), "{shown}");
    let out = weft(d, Some(ACME), &status);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("no run `{globex_run}`")) && err.contains("404"),
        "{err}"
    );
}
