//! `weft validate`: the count of errors is said once (not once per file and
//! again for all), and `--json` lists the diagnostics for editors and CI
//! (file, line, column, code, message, suggestion).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;

use common::{text, weft};
use serde_json::Value;
use weft_tests::plugin_path;

/// A project whose flow `broken` has two errors: an unknown key on line 4
/// and a need of an unknown step on line 6; the flow `fine` has none.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::copy(plugin_path("echo"), dir.join("plugins/echo.wasm")).unwrap();
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: v\nplugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/broken.yaml"),
        "id: broken\nsteps:\n  fetch:\n    uzes: echo\n  store:\n    uses: echo\n    needs: [fetc]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/fine.yaml"),
        "id: fine\nsteps:\n  a: { uses: echo }\n",
    )
    .unwrap();
}

#[test]
fn validate_says_how_many_errors_once() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let out = weft(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("unknown key `uzes`"), "{err}");
    assert!(err.contains("needs unknown step `fetc`"), "{err}");
    assert_eq!(err.matches("errors found").count(), 1, "{err}");
    assert!(err.trim_end().ends_with("error: 3 errors found"), "{err}");

    // weft.yaml's own errors: also counted once.
    std::fs::write(
        dir.path().join("weft.yaml"),
        "id_prefix: v\nplugns: {}\ndefaults: { timeout: 5 parsecs }\n",
    )
    .unwrap();
    let err = text(&weft(dir.path(), &["validate"]).stderr);
    assert_eq!(err.matches("errors found").count(), 1, "{err}");
    assert!(err.contains("2 errors found; "), "{err}");
    assert!(err.contains("weft.yaml is invalid"), "{err}");
}

#[test]
fn validate_json_lists_each_diagnostic_with_its_place_and_code() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let out = weft(dir.path(), &["validate", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "", "JSON only");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(report["errors"], diagnostics.len());
    let find = |code: &str| {
        diagnostics
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {report}"))
    };
    let key = find("unknown-key");
    assert!(
        key["file"].as_str().unwrap().ends_with("broken.yaml"),
        "{key}"
    );
    assert_eq!(key["line"], 4, "{key}");
    assert_eq!(key["column"], 5, "{key}");
    assert_eq!(key["end_column"], 9, "{key}");
    assert_eq!(key["severity"], "error");
    assert!(key["message"].as_str().unwrap().contains("`uzes`"), "{key}");
    assert_eq!(key["suggestion"], "did you mean `uses`?", "{key}");
    let needs = find("needs");
    assert_eq!(needs["line"], 7, "{needs}");
    assert_eq!(needs["suggestion"], "did you mean `fetch`?", "{needs}");
    find("missing-key");
    // Only the flows that load are listed as fine.
    let flows: Vec<&str> = report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(flows, ["fine"]);

    // A clean project: ok, no diagnostics, exit 0.
    std::fs::remove_file(dir.path().join("flows/broken.yaml")).unwrap();
    let out = weft(dir.path(), &["validate", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["diagnostics"], serde_json::json!([]));
    assert_eq!(report["flows"][0]["steps"], 1);
}

#[test]
fn a_cron_line_that_never_fires_is_a_warning_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    std::fs::remove_file(dir.path().join("flows/broken.yaml")).unwrap();
    std::fs::write(
        dir.path().join("flows/feb30.yaml"),
        "id: feb30\nsteps:\n  a: { uses: echo }\nschedule:\n  - cron: \"0 0 9 * * *\"\n  \
         - cron: \"0 0 0 30 2 *\"\n    timezone: Europe/Paris\n",
    )
    .unwrap();
    let out = weft(dir.path(), &["validate"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "a warning does not fail: {err}");
    assert!(
        err.contains("warning: cron line `0 0 0 30 2 *` never fires"),
        "{err}"
    );
    assert!(err.contains("flows/feb30.yaml:6:"), "{err}");
    assert_eq!(
        err.matches("never fires").count(),
        1,
        "only the Feb 30 line: {err}"
    );
    assert!(text(&out.stdout).contains("ok: feb30"));

    let out = weft(dir.path(), &["validate", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["ok"].clone(), report["warnings"].clone()),
        (true.into(), 1.into())
    );
    let warning = &report["diagnostics"][0];
    assert_eq!(warning["severity"], "warning", "{report}");
    assert_eq!(warning["code"], "schedule", "{report}");
    assert_eq!(warning["line"], 6, "{report}");
    assert!(
        warning["file"]
            .as_str()
            .unwrap()
            .ends_with("flows/feb30.yaml")
    );
}
