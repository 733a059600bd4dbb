//! Flow files: random text, line edits of the real flows, and edits of their
//! trees; whatever compiles is then driven as the engine drives it (input
//! checks, rendering `with:`, next fire times).

use std::collections::HashMap;

use chrono::Utc;
use serde_json::Value;
use weft_flow::{CompiledFlow, ProjectConfig, TemplateContext, compile_flow, render};
use weft_fuzz::{Unstructured, mutate_text, mutate_tree, odd_json};

use crate::corpus;

/// Compile `text`; render its diagnostics (positions, snippets and
/// underlines are where multi-byte text breaks things); drive what compiled.
pub fn compile_and_use(text: &str, project: &ProjectConfig, u: &mut Unstructured<'_>) {
    match compile_flow("fuzz.yaml", text, project) {
        Ok(flow) => use_flow(&flow, u),
        Err(diags) => {
            let shown = diags.to_string();
            assert!(!diags.is_empty() && !shown.is_empty());
            for d in diags.iter() {
                let _ = d.code();
                let _ = d.location();
                let _ = d.warning_text();
            }
        }
    }
}

/// What the engine does with a compiled flow: check an input, render each
/// step's `with:`, ask each schedule for its next fires.
fn use_flow(flow: &CompiledFlow, u: &mut Unstructured<'_>) {
    let input = odd_json(u, 3);
    let checked = flow.check_input(&input).unwrap_or(input);
    let mut outputs = HashMap::new();
    for step in &flow.steps {
        outputs.insert(step.id.clone(), odd_json(u, 3));
    }
    let ctx = TemplateContext {
        input: &checked,
        step_outputs: &outputs,
    };
    for step in &flow.steps {
        let _ = render(&step.with, &ctx);
    }
    for schedule in &flow.schedules {
        for at in [
            Utc::now(),
            chrono::DateTime::<Utc>::MAX_UTC - chrono::Duration::days(1),
            chrono::DateTime::<Utc>::MAX_UTC,
        ] {
            let _ = schedule.next_after(at);
        }
    }
}

#[test]
fn fuzz_flow_random_text() {
    let project = corpus::project();
    weft_fuzz::run("flow-random-text", 3000, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        compile_and_use(&text, &project, &mut Unstructured::new(bytes));
    });
}

#[test]
fn fuzz_flow_line_edits_of_real_flows() {
    let project = corpus::project();
    let flows = corpus::flows();
    weft_fuzz::run("flow-line-edits", 2000, |bytes| {
        line_case(&flows, &project, bytes)
    });
}

/// The real flows as trees.
pub fn trees() -> Vec<Value> {
    corpus::flows()
        .iter()
        .filter_map(|text| weft_flow::yaml::parse("corpus.yaml", text).ok())
        .map(|node| node.to_json())
        .collect()
}

/// One tree-edit case: a real flow's tree, edited, back in as YAML.
pub fn tree_case(trees: &[Value], project: &ProjectConfig, bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let mut tree = u.choose(trees).cloned().unwrap_or(Value::Null);
    for _ in 0..u.int_in_range(1u8..=3).unwrap_or(1) {
        mutate_tree(&mut u, &mut tree, corpus::FLOW_KEYS);
    }
    // JSON is YAML: the tree goes back in as a flow-style document.
    let text = serde_json::to_string_pretty(&tree).unwrap_or_default();
    compile_and_use(&text, project, &mut u);
}

/// One line-edit case of a real flow's text.
pub fn line_case(flows: &[String], project: &ProjectConfig, bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let base = u.choose(flows).map(String::as_str).unwrap_or("");
    let text = mutate_text(&mut u, base, corpus::FLOW_KEYS);
    compile_and_use(&text, project, &mut u);
}

#[test]
fn fuzz_flow_tree_edits_of_real_flows() {
    let project = corpus::project();
    let trees = trees();
    assert!(trees.len() > 10);
    weft_fuzz::run("flow-tree-edits", 1000, |bytes| {
        tree_case(&trees, &project, bytes)
    });
}
