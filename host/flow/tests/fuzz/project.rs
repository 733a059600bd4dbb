//! `weft.yaml`: random text, line edits and tree edits of the real project
//! files; what decodes is then used to compile the real flows.

use std::path::Path;

use serde_json::Value;
use weft_flow::{ProjectConfig, compile_flow};
use weft_fuzz::{Unstructured, mutate_text, mutate_tree};

use crate::corpus;

/// Decode `text` as a `weft.yaml`; if it decodes, compile a real flow
/// against it and ask it what the engine asks.
fn decode_and_use(text: &str, flows: &[String], u: &mut Unstructured<'_>) {
    match ProjectConfig::parse("weft.yaml", text, Path::new("/nonexistent/base")) {
        Ok(project) => {
            let _ = project.default_retry();
            let _ = project.declares_tokens();
            for model in project.models.keys() {
                let _ = project.model_pool(model);
            }
            if let Ok(flow) = u.choose(flows) {
                let _ = compile_flow("fuzz.yaml", flow, &project).map_err(|d| d.to_string());
            }
        }
        Err(diags) => assert!(!diags.to_string().is_empty()),
    }
}

#[test]
fn fuzz_project_random_text() {
    let flows = corpus::flows();
    weft_fuzz::run("project-random-text", 3000, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        decode_and_use(&text, &flows, &mut Unstructured::new(bytes));
    });
}

#[test]
fn fuzz_project_edits_of_real_projects() {
    let flows = corpus::flows();
    let projects = corpus::projects();
    let trees: Vec<Value> = projects
        .iter()
        .filter_map(|t| weft_flow::yaml::parse("weft.yaml", t).ok())
        .map(|n| n.to_json())
        .collect();
    assert!(!trees.is_empty());
    weft_fuzz::run("project-edits", 1000, |bytes| {
        let mut u = Unstructured::new(bytes);
        let text = if u.arbitrary().unwrap_or(false) {
            let base = u.choose(&projects).map(String::as_str).unwrap_or("");
            mutate_text(&mut u, base, corpus::PROJECT_KEYS)
        } else {
            let mut tree = u.choose(&trees).cloned().unwrap_or(Value::Null);
            for _ in 0..u.int_in_range(1u8..=3).unwrap_or(1) {
                mutate_tree(&mut u, &mut tree, corpus::PROJECT_KEYS);
            }
            serde_json::to_string_pretty(&tree).unwrap_or_default()
        };
        decode_and_use(&text, &flows, &mut u);
    });
}
