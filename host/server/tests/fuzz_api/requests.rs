//! Fuzzed requests for every route of the daemon: a route from the table, its
//! path parameters (real ids or odd text), a query string of known and odd
//! keys, and a body (a valid body with edits, odd JSON, raw bytes, nothing).

use serde_json::{Value, json};
use weft_fuzz::{Unstructured, mutate_tree, odd_json, odd_string};

/// Ids the daemon knows, so that fuzzed requests get past "not found".
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Run ids.
    pub runs: Vec<String>,
    /// (task id, lease token) of leased tasks.
    pub leases: Vec<(u64, u64)>,
    /// Flow ids.
    pub flows: Vec<String>,
    /// Artifact keys.
    pub artifacts: Vec<String>,
}

/// One route: method, path with `{run}`, `{task}`, `{flow}`, `{any}`,
/// `{index}` parameters, the query keys it reads, and a valid body.
struct Route {
    method: &'static str,
    path: &'static str,
    query: &'static [&'static str],
    body: fn(&Known, &mut Unstructured<'_>) -> Option<Value>,
}

fn none(_: &Known, _: &mut Unstructured<'_>) -> Option<Value> {
    None
}

fn token(k: &Known, u: &mut Unstructured<'_>) -> u64 {
    u.choose(&k.leases).map(|l| l.1).unwrap_or(1)
}

const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/v1/runs",
        query: &[],
        body: |k, u| {
            let flow = u.choose(&k.flows).cloned().unwrap_or_default();
            Some(json!({"flow": flow, "input": {"n": 1}, "idempotency_key": "k", "priority": 3}))
        },
    },
    Route {
        method: "GET",
        path: "/v1/runs",
        query: &["flow", "status", "limit"],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/runs/{run}",
        query: &["wait"],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/runs/{run}/events",
        query: &["after", "wait"],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/runs/{run}/artifacts",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/runs/{run}/artifacts/{any}",
        query: &[],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/runs/{run}/resume",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/runs/{run}/verify",
        query: &[],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/runs/{run}/cancel",
        query: &[],
        body: |_, _| Some(json!({"reason": "x"})),
    },
    Route {
        method: "GET",
        path: "/v1/flows",
        query: &["flow", "tenant"],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/costs",
        query: &["tenant", "since"],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/search",
        query: &[
            "q", "semantic", "flow", "status", "tenant", "since", "until", "limit",
        ],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/queue/stats",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/queue/next",
        query: &["pool", "project"],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/locks",
        query: &[],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/locks/{any}",
        query: &[],
        body: |_, _| Some(json!({"owner": "me", "ttl_ms": 1000})),
    },
    Route {
        method: "DELETE",
        path: "/v1/locks/{any}",
        query: &["token"],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/dlq",
        query: &["since_ms", "limit"],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/dlq/{task}/requeue",
        query: &[],
        body: none,
    },
    Route {
        method: "DELETE",
        path: "/v1/dlq/{task}",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/index",
        query: &[],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/index/rebuild",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/schedules",
        query: &[],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/schedules/{flow}/{index}/pause",
        query: &[],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/schedules/{flow}/{index}/resume",
        query: &[],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/schedules/{flow}/{index}/trigger",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/v1/pools",
        query: &["pool"],
        body: none,
    },
    Route {
        method: "PUT",
        path: "/v1/pools/{any}/policy",
        query: &["config", "name"],
        body: none,
    },
    Route {
        method: "PUT",
        path: "/v1/flows/{flow}/retry",
        query: &["config", "name"],
        body: none,
    },
    Route {
        method: "POST",
        path: "/v1/worker/lease",
        query: &[],
        body: |_, _| {
            Some(
                json!({"worker": "w", "owner": "o", "pools": ["default"], "lease_ms": 30000, "wait_ms": 0}),
            )
        },
    },
    Route {
        method: "POST",
        path: "/v1/worker/leave",
        query: &[],
        body: |_, _| Some(json!({"worker": "w"})),
    },
    Route {
        method: "POST",
        path: "/v1/worker/tasks/{task}/heartbeat",
        query: &[],
        body: |k, u| Some(json!({"owner": "o", "token": token(k, u), "lease_ms": 30000})),
    },
    Route {
        method: "POST",
        path: "/v1/worker/tasks/{task}/complete",
        query: &[],
        body: |k, u| Some(json!({"token": token(k, u), "output": {"x": 1}, "elapsed_ms": 3})),
    },
    Route {
        method: "POST",
        path: "/v1/worker/tasks/{task}/fail",
        query: &[],
        body: |k, u| {
            Some(
                json!({"token": token(k, u), "error": {"transient": "x"}, "message": "m", "elapsed_ms": 3}),
            )
        },
    },
    Route {
        method: "POST",
        path: "/v1/worker/tasks/{task}/model",
        query: &[],
        body: |k, u| {
            Some(json!({"token": token(k, u), "index": 0, "request": {
            "model": "mock", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 10, "temperature": 0.5, "extra": null}}))
        },
    },
    Route {
        method: "POST",
        path: "/v1/worker/tasks/{task}/tool",
        query: &[],
        body: |k, u| {
            Some(
                json!({"token": token(k, u), "index": 0, "plugin": "echo", "config": "{}", "input": "{}", "remaining_ms": 100}),
            )
        },
    },
    Route {
        method: "POST",
        path: "/v1/worker/tasks/{task}/artifact-get",
        query: &[],
        body: |k, u| {
            Some(
                json!({"token": token(k, u), "key": u.choose(&k.artifacts).cloned().unwrap_or_default()}),
            )
        },
    },
    Route {
        method: "POST",
        path: "/v1/worker/tasks/{task}/artifact-put",
        query: &[],
        body: |k, u| Some(json!({"token": token(k, u), "key": "report", "value": "{\"a\":1}"})),
    },
    Route {
        method: "GET",
        path: "/v1/plugins/{any}",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/metrics",
        query: &[],
        body: none,
    },
    Route {
        method: "GET",
        path: "/healthz",
        query: &[],
        body: none,
    },
];

/// One fuzzed request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, `PUT`, `DELETE`.
    pub method: &'static str,
    /// Path and query string, percent-encoded.
    pub target: String,
    /// The body, if any, and whether it is sent as JSON.
    pub body: Option<(Vec<u8>, bool)>,
    /// The route's path pattern (for the report).
    pub route: &'static str,
}

/// The longest text put in a path segment or query value, in bytes (a URI
/// must stay under the client's 64 KiB).
const MAX_PART: usize = 4096;

/// Percent-encode everything but unreserved characters (of at most
/// [`MAX_PART`] bytes of `text`).
fn encode(text: &str) -> String {
    text.bytes()
        .take(MAX_PART)
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn param(u: &mut Unstructured<'_>, real: Vec<String>) -> String {
    if !real.is_empty() && u.ratio(2u8, 3u8).unwrap_or(false) {
        return encode(u.choose(&real).map(String::as_str).unwrap_or(""));
    }
    let odd = odd_string(u);
    if odd.is_empty() {
        "x".to_owned()
    } else {
        encode(&odd)
    }
}

/// A value of a query key or a JSON field that would make the daemon wait:
/// kept short, so that a case never waits long (a zero or a non-number).
fn no_wait(value: String) -> String {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => "0".to_owned(),
        _ => value,
    }
}

/// Caps `wait_ms` fields for the same reason.
fn cap_waits(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if (k == "wait_ms" || k == "remaining_ms") && v.as_u64().is_some_and(|n| n > 20) {
                    *v = json!(20);
                }
                cap_waits(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(cap_waits),
        _ => {}
    }
}

/// A request built from `u` against what `known` holds.
pub fn request(u: &mut Unstructured<'_>, known: &Known) -> Request {
    let route = u.choose(ROUTES).unwrap_or(&ROUTES[0]);
    let mut target = String::new();
    let mut rest = route.path;
    while let Some(open) = rest.find('{') {
        target.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let value = match &rest[open + 1..close] {
            "run" => param(u, known.runs.clone()),
            "task" => param(u, known.leases.iter().map(|l| l.0.to_string()).collect()),
            "flow" => param(u, known.flows.clone()),
            "index" => param(u, vec!["0".into(), "1".into()]),
            _ => param(u, known.artifacts.clone()),
        };
        target.push_str(&value);
        rest = &rest[(close + 1).min(rest.len())..];
    }
    target.push_str(rest);
    let pairs = u.int_in_range(0u8..=4).unwrap_or(0);
    for i in 0..pairs {
        let key = if u.ratio(3u8, 4u8).unwrap_or(false) && !route.query.is_empty() {
            (*u.choose(route.query).unwrap_or(&"x")).to_owned()
        } else {
            odd_string(u)
        };
        let value = odd_string(u);
        let value = if key == "wait" { no_wait(value) } else { value };
        target.push(if i == 0 { '?' } else { '&' });
        target.push_str(&encode(&key));
        target.push('=');
        target.push_str(&encode(&value));
    }
    let body = match u.int_in_range(0u8..=5).unwrap_or(0) {
        0 => None,
        1 => Some((
            u.bytes(u.len().min(2048)).unwrap_or_default().to_vec(),
            u.arbitrary().unwrap_or(true),
        )),
        2 => {
            let mut odd = odd_json(u, 4);
            cap_waits(&mut odd);
            Some((odd.to_string().into_bytes(), true))
        }
        _ => (route.body)(known, u).map(|mut valid| {
            for _ in 0..u.int_in_range(0u8..=3).unwrap_or(1) {
                mutate_tree(
                    u,
                    &mut valid,
                    &[
                        "token", "key", "value", "output", "request", "wait_ms", "lease_ms",
                        "flow", "input",
                    ],
                );
            }
            cap_waits(&mut valid);
            (valid.to_string().into_bytes(), true)
        }),
    };
    Request {
        method: route.method,
        target,
        body,
        route: route.path,
    }
}
