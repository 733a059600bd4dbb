#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! Error messages as fixtures: every `tests/ui/*.yaml` is invalid, and its
//! diagnostics must equal `tests/ui/*.err` byte for byte. Files named `weft-*.yaml`
//! are project configs; the others are flows checked against
//! `tests/project/weft.yaml`. Run with `BLESS=1` to rewrite the `.err` files.

use std::path::{Path, PathBuf};

use weft_flow::{ProjectConfig, compile_flow};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn project() -> ProjectConfig {
    let path = crate_dir().join("tests/project/weft.yaml");
    let source = std::fs::read_to_string(&path).unwrap();
    ProjectConfig::parse(
        "tests/project/weft.yaml",
        &source,
        Path::new("tests/project"),
    )
    .unwrap_or_else(|e| panic!("the fixture project is invalid:\n{e}"))
}

/// The diagnostics for one fixture, as text.
fn diagnose(name: &str, source: &str, project: &ProjectConfig) -> String {
    let file = format!("tests/ui/{name}");
    let result = if name.starts_with("weft-") {
        ProjectConfig::parse(&file, source, Path::new("tests/ui")).map(|_| ())
    } else {
        compile_flow(&file, source, project).map(|_| ())
    };
    match result {
        Ok(()) => "(no errors: this fixture should be invalid)\n".to_owned(),
        Err(diags) => format!("{diags}\n"),
    }
}

#[test]
fn ui_fixtures() {
    let project = project();
    let bless = std::env::var_os("BLESS").is_some();
    let dir = crate_dir().join("tests/ui");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 15,
        "expected at least 15 fixtures, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    for name in &names {
        let source = std::fs::read_to_string(dir.join(name)).unwrap();
        let actual = diagnose(name, &source, &project);
        let err_path = dir.join(name.replace(".yaml", ".err"));
        if bless {
            std::fs::write(&err_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&err_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "--- {name}: expected ({})\n{expected}\n--- actual\n{actual}",
                err_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ (run with BLESS=1 to accept):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_err_file_has_a_fixture() {
    let dir = crate_dir().join("tests/ui");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "err") {
            assert!(
                path.with_extension("yaml").exists(),
                "{} has no .yaml",
                path.display()
            );
        }
    }
}
