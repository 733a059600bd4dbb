//! `flows/conditional-triage.yaml` through the real binary: `weft run`
//! takes one branch or the other by the ticket's priority, says which step
//! it skipped and why, and the `always()` step records the outcome.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::text;
use serde_json::{Value, json};
use weft_tests::repo_root;

/// Runs conditional-triage on `ticket` into `state`; its JSON report and
/// its progress lines.
fn triage(state: &std::path::Path, ticket: &Value) -> (Value, String) {
    let input = json!({ "ticket": ticket }).to_string();
    let state = state.display().to_string();
    let args = [
        "run",
        "conditional-triage",
        "-i",
        &input,
        "--state",
        &state,
        "--json",
    ];
    let out = common::weft(&repo_root(), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        text(&out.stderr),
    )
}

#[test]
fn each_ticket_takes_one_branch_and_the_outcome_is_always_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let urgent = json!({"id": 1, "priority": "high", "tags": [], "team": "billing"});
    let (report, progress) = triage(dir.path(), &urgent);
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(report["output"]["record"]["outcome"], "on-call", "{report}");
    assert_eq!(report["output"]["alert"], Value::Null, "{report}");
    assert!(progress.contains("step file skipped: `if: "), "{progress}");
    assert!(progress.contains("step alert skipped:"), "{progress}");
    assert!(!progress.contains("step escalate skipped"), "{progress}");

    let calm = json!({"id": 2, "priority": "low", "tags": ["new"], "team": "billing"});
    let (report, progress) = triage(dir.path(), &calm);
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(
        report["output"]["record"]["outcome"], "billing-backlog",
        "{report}"
    );
    assert!(progress.contains("step escalate skipped:"), "{progress}");

    // The run's status lists the skipped step's task as such.
    let run = report["run_id"].as_str().unwrap();
    let state = dir.path().display().to_string();
    let out = common::weft(&repo_root(), &["runs", "status", run, "--state", &state]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status = text(&out.stdout);
    let row = |step: &str| {
        let found = status.lines().find(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(1) == Some(&step)
        });
        found.expect(&status).to_owned()
    };
    assert!(row("escalate").contains("skipped"), "{status}");
    assert!(row("alert").contains("skipped"), "{status}");
    assert!(row("file").contains("done"), "{status}");
}
