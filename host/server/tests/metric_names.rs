//! The metrics the code exports, the ones docs/api.md documents, and the ones the
//! Grafana dashboard and the alert rules in docs/ query are the same names.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::collections::BTreeSet;
use std::path::Path;

use weft_server::{METRIC_DECLS, METRIC_NAMES, Metrics};

fn docs(file: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    std::fs::read_to_string(root.join(file)).unwrap()
}

/// Every `weft_…` name in `text`, histogram series folded into their family.
fn names_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("weft_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_') {
            end += 1;
        }
        let name = &text[start..end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        names.insert(family.to_owned());
        i = end;
    }
    names
}

#[test]
fn the_registry_exports_exactly_the_listed_names() {
    let metrics = Metrics::new().unwrap();
    let exported: BTreeSet<String> = metrics.family_names().into_iter().collect();
    let listed: BTreeSet<String> = METRIC_NAMES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(exported, listed);
}

#[test]
fn api_docs_list_every_metric() {
    let documented = names_in(&docs("api.md"));
    for name in METRIC_NAMES {
        assert!(
            documented.contains(*name),
            "docs/api.md does not list {name}"
        );
    }
}

#[test]
fn dashboard_and_alerts_query_only_exported_metrics() {
    for file in ["grafana-dashboard.json", "alerts.yaml"] {
        let used = names_in(&docs(file));
        assert!(!used.is_empty(), "{file} queries nothing");
        for name in &used {
            assert!(
                METRIC_NAMES.contains(&name.as_str()),
                "{file} queries {name}, which the daemon does not export"
            );
        }
    }
}

#[test]
fn the_names_are_the_declarations() {
    let declared: Vec<&str> = METRIC_DECLS.iter().map(|d| d.name).collect();
    assert_eq!(declared, METRIC_NAMES);
    let unique: BTreeSet<&str> = declared.iter().copied().collect();
    assert_eq!(unique.len(), declared.len(), "a metric is declared twice");
}

/// docs/api.md's table row of each metric gives the type and the labels its
/// declaration has.
#[test]
fn api_docs_give_each_metric_its_declared_type_and_labels() {
    let api = docs("api.md");
    for decl in METRIC_DECLS {
        let start = format!("| `{}` |", decl.name);
        let row = api
            .lines()
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("docs/api.md has no table row for {}", decl.name));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], decl.kind.as_str(), "the type of {}", decl.name);
        let labels: Vec<String> = decl.labels.iter().map(|l| format!("`{l}`")).collect();
        assert_eq!(cells[3], labels.join(", "), "the labels of {}", decl.name);
    }
}
