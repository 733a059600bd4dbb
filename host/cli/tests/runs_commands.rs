//! `weft runs list|status|tail|verify|artifacts`, driven through the real binary
//! against a state folder that `weft run` filled.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;
use std::process::Output;

use common::text;
use redb::{Database, ReadableTable};
use serde_json::{Value, json};
use weft_store_api::LedgerEvent;
use weft_store_redb::tables::LEDGER;
use weft_tests::repo_root;

/// `weft ARGS`, run from the repository root.
fn weft(args: &[&str]) -> Output {
    common::weft(&repo_root(), args)
}

/// Runs support-triage into `state` and returns the run id.
fn triage(state: &Path) -> String {
    let state = state.display().to_string();
    let input = r#"{"ticket":{"id":7,"customer":"ada","body":"Login fails."}}"#;
    let out = weft(&[
        "run",
        "support-triage",
        "-i",
        input,
        "--state",
        &state,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["run_id"].as_str().unwrap().to_owned()
}

#[test]
fn list_status_tail_and_verify_show_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().display().to_string();
    let run = triage(dir.path());

    let out = weft(&["runs", "list", "--state", &state]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let row = table.lines().find(|l| l.starts_with(&run)).expect(&table);
    assert!(
        row.contains("support-triage") && row.contains("succeeded"),
        "{row}"
    );
    assert!(row.contains(" UTC"), "{row}");

    let out = weft(&[
        "runs", "list", "--state", &state, "--json", "--status", "failed",
    ]);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!([])
    );

    let out = weft(&["runs", "status", &run, "--state", &state, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "succeeded");
    let tasks = status["tasks"].as_array().unwrap();
    let mut steps: Vec<&str> = tasks.iter().map(|t| t["step"].as_str().unwrap()).collect();
    steps.sort_unstable();
    assert_eq!(steps, ["audit", "extract", "report", "stats", "summarise"]);
    for task in tasks {
        assert_eq!(task["state"], "done", "{task}");
        assert_eq!(task["attempt"], 1, "{task}");
        assert!(task["output_bytes"].as_u64().unwrap() > 2, "{task}");
    }
    let out = weft(&["runs", "status", &run, "--state", &state]);
    let shown = text(&out.stdout);
    assert!(shown.contains("status   succeeded"), "{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.contains("summarise") && l.contains("done")),
        "{shown}"
    );

    let out = weft(&["runs", "tail", &run, "--state", &state, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["type"], "run-created");
    assert_eq!(events.last().unwrap()["type"], "run-succeeded");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    // `--follow` on a finished run prints the same events and returns.
    let out = weft(&["runs", "tail", &run, "--state", &state, "--follow"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), events.len());
    assert!(lines[0].contains("run-created"), "{}", lines[0]);

    let out = weft(&["runs", "verify", &run, "--state", &state]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = format!("ledger of {run} verified: {} events, head ", events.len());
    assert!(
        text(&out.stdout).starts_with(&expected),
        "{}",
        text(&out.stdout)
    );

    let out = weft(&["runs", "artifacts", &run, "--state", &state, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .is_object()
    );
    let out = weft(&["runs", "artifacts", &run, "nope", "--state", &state]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("run `{run}` has no artifact `nope`")),
        "{err}"
    );

    // Nothing is left in the queue of a finished run.
    let out = weft(&["queue", "next", "--state", &state]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "nothing is ready");
}

#[test]
fn verify_names_the_first_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().display().to_string();
    let run = triage(dir.path());
    {
        let db = Database::open(dir.path().join("weft.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(LEDGER).unwrap();
            let bytes = table
                .get((run.as_str(), 3))
                .unwrap()
                .unwrap()
                .value()
                .to_vec();
            let mut event: LedgerEvent = serde_json::from_slice(&bytes).unwrap();
            event.payload["forged"] = json!(true);
            let forged = serde_json::to_vec(&event).unwrap();
            table.insert((run.as_str(), 3), forged.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let out = weft(&["runs", "verify", &run, "--state", &state]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("ledger of {run} BROKEN at seq 3")),
        "{said}"
    );

    let out = weft(&["runs", "verify", &run, "--state", &state, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], false);
    assert_eq!(report["first_bad"]["seq"], 3);
    assert_eq!(report["events"], 2);
}

#[test]
fn an_unknown_run_id_is_a_clear_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().display().to_string();
    let run = triage(dir.path());
    // One character off: the real id is suggested.
    let typo = format!("{}q", &run[..run.len() - 1]);
    let typo = if typo == run {
        format!("{}z", &run[..run.len() - 1])
    } else {
        typo
    };
    for command in ["status", "tail", "verify", "artifacts"] {
        let out = weft(&["runs", command, &typo, "--state", &state]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("no run `{typo}` in {state}")),
            "{command}: {err}"
        );
        assert!(
            err.contains(&format!("did you mean `{run}`?")),
            "{command}: {err}"
        );
    }
    let out = weft(&["runs", "status", "nothing-like-it", "--state", &state]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no run `nothing-like-it`"), "{err}");
    assert!(!err.contains("did you mean"), "{err}");
}

/// A run's own cost — its model calls, tokens and dollars, as charged by the
/// priced `mock` model of weft.yaml — is on the run: `weft runs status` shows
/// it (JSON and text), and it is what `weft costs` counted for the run.
#[test]
fn status_shows_what_the_run_was_charged() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().display().to_string();
    let run = triage(dir.path());

    let out = weft(&["costs", "--json", "--state", &state]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let costs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let charged = costs["total"]["micro_usd"].as_u64().unwrap();
    let calls = costs["total"]["calls"].as_u64().unwrap();
    assert!(charged > 0 && calls > 0, "{costs}");

    let out = weft(&["runs", "status", &run, "--state", &state, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cost = &status["cost"];
    assert_eq!(cost["micro_usd"].as_u64(), Some(charged), "{status}");
    assert_eq!(cost["calls"].as_u64(), Some(calls), "{status}");
    assert_eq!(
        cost["input_tokens"], costs["total"]["input_tokens"],
        "{status}"
    );
    assert_eq!(
        cost["output_tokens"], costs["total"]["output_tokens"],
        "{status}"
    );
    let usd = charged as f64 / 1_000_000.0;
    assert_eq!(status["cost_usd"].as_f64(), Some(usd), "{status}");
    assert_eq!(cost["usd"].as_f64(), Some(usd), "{status}");

    let out = weft(&["runs", "status", &run, "--state", &state]);
    let shown = text(&out.stdout);
    let line = shown
        .lines()
        .find(|l| l.starts_with("cost "))
        .unwrap_or_else(|| panic!("no cost line in:\n{shown}"));
    let dollars = format!("${}.{:06}", charged / 1_000_000, charged % 1_000_000);
    assert!(line.contains(&dollars), "{line}");
    assert!(line.contains(&format!("{calls} model call")), "{line}");

    let out = weft(&["runs", "list", "--state", &state, "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["cost_usd"].as_f64(), Some(usd), "{rows}");
}
