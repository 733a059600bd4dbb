#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! Every flow in the repository's `flows/` must validate against its `weft.yaml`.

use std::path::PathBuf;

use weft_core::PluginKind;
use weft_flow::{PluginRole, ProjectConfig, load_flow_dir};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_example_flow_validates() {
    let project = ProjectConfig::load(&repo().join("weft.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let set = load_flow_dir(&repo().join("flows"), &project);
    let errors: Vec<String> = set.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
    assert!(
        set.flows.len() >= 2,
        "expected the example flows, found {}",
        set.flows.len()
    );
    for flow in &set.flows {
        for u in &flow.plugin_uses {
            assert_eq!(
                u.declared,
                u.expected_kind(),
                "{} at {}",
                u.plugin,
                u.location
            );
        }
    }
}

#[test]
fn the_example_project_declares_what_the_demo_ships() {
    let project = ProjectConfig::load(&repo().join("weft.yaml")).unwrap();
    assert_eq!(project.id_prefix, "demo");
    for (name, kind) in [
        ("echo", PluginKind::Step),
        ("json-transform", PluginKind::Step),
        ("prompt", PluginKind::Step),
        ("agent", PluginKind::Step),
        ("text-stats", PluginKind::Step),
        ("reshape", PluginKind::Step),
        ("mock-model", PluginKind::Model),
        ("exp-backoff", PluginKind::Retry),
        ("priority-fifo", PluginKind::Pool),
        ("fair-share", PluginKind::Pool),
    ] {
        let p = project
            .plugin(name)
            .unwrap_or_else(|| panic!("{name} is not declared"));
        assert_eq!(p.kind, kind, "{name}");
        assert!(
            p.path.ends_with(format!("plugins/dist/{name}.wasm")),
            "{}",
            p.path.display()
        );
    }
    assert_eq!(project.models["mock"].adapter, "mock-model");
    assert!(project.models["mock"].price.is_some());
    assert!(project.state_dir.ends_with(".weft"));
    assert!(
        project
            .plugin_uses
            .iter()
            .any(|u| u.plugin == "mock-model" && u.role == PluginRole::ModelAdapter)
    );
}

#[test]
fn support_triage_fans_out_and_in() {
    let project = ProjectConfig::load(&repo().join("weft.yaml")).unwrap();
    let flow = weft_flow::load_flow(&repo().join("flows/support-triage.yaml"), &project).unwrap();
    let order: Vec<&str> = flow.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(order, ["summarise", "extract", "stats", "audit", "report"]);
    let initial: Vec<&str> = flow.initial_steps().map(|s| s.id.as_str()).collect();
    assert_eq!(initial, ["summarise"]);
    assert_eq!(flow.step("extract").unwrap().dependents, ["stats", "audit"]);
    assert_eq!(flow.step("report").unwrap().needs, ["stats", "audit"]);
    assert_eq!(
        flow.step("summarise").unwrap().model.as_deref(),
        Some("mock")
    );
}

#[test]
fn conditional_triage_takes_one_branch_and_always_records() {
    use std::collections::HashMap;

    use serde_json::json;
    use weft_flow::{Decision, StepStatus};

    let project = ProjectConfig::load(&repo().join("weft.yaml")).unwrap();
    let flow =
        weft_flow::load_flow(&repo().join("flows/conditional-triage.yaml"), &project).unwrap();
    let input = flow
        .check_input(&json!({"ticket": {"id": 7, "priority": "high"}}))
        .unwrap();
    let mut outputs = HashMap::new();
    outputs.insert(
        "triage".to_owned(),
        json!({"id": 7, "priority": "high", "vip": false}),
    );
    let mut statuses = HashMap::new();
    statuses.insert("triage".to_owned(), StepStatus::Succeeded);
    let decide = |step: &str, statuses: &HashMap<String, StepStatus>| {
        flow.decide(step, &input, &outputs, statuses).unwrap()
    };
    assert_eq!(decide("escalate", &statuses), Decision::Run);
    assert!(matches!(decide("file", &statuses), Decision::Skip { .. }));
    statuses.insert("escalate".to_owned(), StepStatus::Succeeded);
    statuses.insert("file".to_owned(), StepStatus::Skipped);
    assert_eq!(decide("record", &statuses), Decision::Run);
    statuses.insert("record".to_owned(), StepStatus::Succeeded);
    assert!(matches!(decide("alert", &statuses), Decision::Skip { .. }));
    statuses.insert("escalate".to_owned(), StepStatus::Failed);
    assert_eq!(decide("alert", &statuses), Decision::Run);
    assert!(flow.has_failure_followers("triage"));
}
