//! `weft daemon` watches its flows folder, as a real process on loopback: an
//! edited flow is swapped in (new version, new step config, new schedule) and
//! the next run uses it; a broken file is reported at `GET /v1/flows` with its
//! file and line while the last good version keeps serving; fixing it (an
//! editor's write-then-rename) clears the error; a new file is submittable and
//! deleting it makes its flow unknown. Every wait is a long poll on
//! `/v1/flows?after=REVISION&wait=SECONDS`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "common/daemon.rs"]
mod daemon_support;

use daemon_support::{Daemon, write_project};

/// `chain` (see `write_project`) with `version`, its last step wrapping its
/// output in `tag`, and a schedule on the first of `month`.
fn chain(version: u32, tag: &str, month: u32) -> String {
    format!(
        "id: chain\nversion: {version}\ninputs:\n  n: {{ type: integer, required: true }}\nsteps:\n  a: {{ uses: echo }}\n  b: {{ uses: echo, needs: [a] }}\n  c: {{ uses: echo, needs: [b], with: {{ wrap: {tag} }} }}\nschedule:\n  - cron: \"0 0 0 1 {month} *\"\n    input: {{ n: 7 }}\n"
    )
}

struct Api {
    agent: ureq::Agent,
    url: String,
}

impl Api {
    fn new(url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            url: url.to_owned(),
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.url))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().unwrap())
    }

    fn submit(&self, flow: &str, n: i64) -> (u16, Value) {
        let body = json!({"flow": flow, "input": {"n": n}});
        let mut response = self
            .agent
            .post(&format!("{}/v1/runs", self.url))
            .send_json(body)
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().unwrap())
    }

    /// Submits a run of `flow` and waits for it: the run record and outputs.
    fn run(&self, flow: &str, n: i64) -> Value {
        let (status, sub) = self.submit(flow, n);
        assert_eq!(status, 201, "{sub}");
        let id = sub["run_id"].as_str().unwrap();
        let (_, got) = self.get(&format!("/v1/runs/{id}?wait=60"));
        assert_eq!(got["run"]["status"], "succeeded", "{got}");
        got
    }

    /// `GET /v1/flows`, then long polls on its revision until `done` holds
    /// (at most 30 s).
    fn flows_when(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        let (_, mut flows) = self.get("/v1/flows");
        while !done(&flows) {
            assert!(Instant::now() < deadline, "no {what} within 30 s: {flows}");
            let revision = flows["revision"].as_u64().unwrap();
            flows = self.get(&format!("/v1/flows?after={revision}&wait=5")).1;
        }
        flows
    }
}

/// The served flow `id` in a `/v1/flows` answer.
fn flow<'a>(flows: &'a Value, id: &str) -> Option<&'a Value> {
    flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
}

fn version_of(flows: &Value, id: &str) -> Option<u64> {
    flow(flows, id).and_then(|f| f["version"].as_u64())
}

#[test]
fn the_daemon_swaps_in_edited_flow_files_and_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let flows_dir = dir.path().join("flows");
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon.url);

    let (status, first) = api.get("/v1/flows");
    assert_eq!(status, 200);
    assert_eq!(first["generation"], 1, "{first}");
    assert_eq!(first["errors"], json!([]), "{first}");
    assert!(first["reloaded_ms"].as_u64().unwrap() > 0, "{first}");
    let served = flow(&first, "chain").unwrap();
    assert_eq!(served["version"], 1);
    assert!(
        served["file"]
            .as_str()
            .unwrap()
            .ends_with("flows/chain.yaml"),
        "{first}"
    );
    // Nothing changes: a long poll answers when its wait is over, unchanged.
    let revision = first["revision"].as_u64().unwrap();
    let asked = Instant::now();
    let (_, same) = api.get(&format!("/v1/flows?after={revision}&wait=1"));
    assert!(
        asked.elapsed() >= Duration::from_millis(900),
        "answered early: {same}"
    );
    assert_eq!(same["revision"], revision);

    // Edited in place: version 2 with a new step config and schedule.
    std::fs::write(flows_dir.join("chain.yaml"), chain(2, "v2", 2)).unwrap();
    let flows = api.flows_when("chain version 2", |f| version_of(f, "chain") == Some(2));
    assert_eq!(flows["generation"], 2, "{flows}");
    assert_eq!(flows["errors"], json!([]), "{flows}");
    assert_eq!(
        flow(&flows, "chain").unwrap()["schedules"],
        json!(["0 0 0 1 2 *"])
    );
    let got = api.run("chain", 5);
    assert_eq!(got["run"]["flow_version"], "2", "{got}");
    assert_eq!(
        got["run"]["output"],
        json!({"v2": {"b": {"a": {"n": 5}}}}),
        "{got}"
    );
    let (_, schedules) = api.get("/v1/schedules");
    assert_eq!(
        schedules["schedules"][0]["cron"], "0 0 0 1 2 *",
        "{schedules}"
    );
    assert!(
        schedules["schedules"][0]["next_fire_ms"].is_u64(),
        "{schedules}"
    );

    // A YAML typo (an unclosed `{` on line 7, seen on line 8): reported with
    // file, line and column; version 2 keeps serving.
    let broken = chain(3, "v3", 3).replace(
        "  b: { uses: echo, needs: [a] }",
        "  b: { uses: echo, needs: [a]",
    );
    std::fs::write(flows_dir.join("chain.yaml"), broken).unwrap();
    let flows = api.flows_when("the typo reported", |f| {
        f["errors"].to_string().contains("chain.yaml:8:3")
    });
    let errors = flows["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{flows}");
    assert!(
        errors[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("flows/chain.yaml"),
        "{flows}"
    );
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("chain.yaml:8:3"), "{message}");
    assert!(message.starts_with("error: invalid YAML"), "{message}");
    assert_eq!(flows["generation"], 2, "{flows}");
    assert_eq!(version_of(&flows, "chain"), Some(2));
    let got = api.run("chain", 6);
    assert_eq!(
        got["run"]["flow_version"], "2",
        "the last good version: {got}"
    );

    // Fixed the way an editor saves: a temp file renamed over the flow file.
    let temp = flows_dir.join(".chain.yaml.swp");
    std::fs::write(&temp, chain(3, "v3", 3)).unwrap();
    std::fs::rename(&temp, flows_dir.join("chain.yaml")).unwrap();
    let flows = api.flows_when("chain version 3 and no error", |f| {
        version_of(f, "chain") == Some(3) && f["errors"].as_array().unwrap().is_empty()
    });
    assert_eq!(flows["generation"], 3, "{flows}");
    let got = api.run("chain", 7);
    assert_eq!(
        got["run"]["output"],
        json!({"v3": {"b": {"a": {"n": 7}}}}),
        "{got}"
    );

    // A new file: its flow can be submitted; deleted, it is unknown.
    let extra = "id: extra\ninputs:\n  n: { type: integer }\nsteps:\n  only: { uses: echo }\n";
    std::fs::write(flows_dir.join("extra.yml"), extra).unwrap();
    api.flows_when("flow extra", |f| flow(f, "extra").is_some());
    let got = api.run("extra", 8);
    assert_eq!(got["run"]["output"], json!({"n": 8}), "{got}");
    std::fs::remove_file(flows_dir.join("extra.yml")).unwrap();
    let flows = api.flows_when("flow extra gone", |f| flow(f, "extra").is_none());
    assert_eq!(flows["generation"], 5, "{flows}");
    let (status, err) = api.submit("extra", 9);
    assert_eq!(status, 404, "{err}");
    assert_eq!(err["error"], "unknown flow `extra`");
    assert_eq!(version_of(&flows, "chain"), Some(3));

    assert!(daemon.stop().success());
}

#[test]
fn the_daemon_does_not_start_with_a_flow_file_that_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    std::fs::write(dir.path().join("flows/bad.yaml"), "id: bad\nsteps: [\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["daemon", "--listen", "127.0.0.1:0", "--no-auth"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:3:1"), "{stderr}");
    assert!(stderr.contains("1 flow file(s) in"), "{stderr}");
    assert!(out.stdout.is_empty(), "it never listened");
}
