#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! The modules of `src/` form no cycle, and the modules `project.rs` is built
//! from do not know [`weft_flow::ProjectConfig`]: each stage of `weft.yaml`
//! (authored → validated → resolved) sits below the type it builds.
//!
//! A module refers to another when its code (not its comments, not its
//! `#[cfg(test)] mod tests`) says `crate::other` (or a type `lib.rs` re-exports
//! from it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Each module of `src/` (but `lib`) and the modules it refers to.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut texts = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            texts.insert(name, code_of(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    let lib = texts.remove("lib").unwrap();
    let reexports = reexports(&lib);
    let mods: BTreeSet<String> = texts.keys().cloned().collect();
    texts
        .iter()
        .map(|(name, text)| {
            let refs = crate_refs(text)
                .into_iter()
                .map(|r| reexports.get(&r).cloned().unwrap_or(r))
                .filter(|r| r != name && mods.contains(r))
                .collect();
            (name.clone(), refs)
        })
        .collect()
}

/// The text without comments and without its unit tests.
fn code_of(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names used after `crate::`, alone or in a `crate::{a, b::c}` group.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            // Top-level items of the group: what follows `{` or a `,` at depth 0.
            for item in group.split(',') {
                out.insert(ident(item.trim()));
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// `pub use module::{A, B}` of `lib.rs`: A → module, B → module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in lib.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if !name.is_empty() {
                out.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    out
}

/// Every module reachable from `from`.
fn below(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&String> = g.get(from).into_iter().flatten().collect();
    while let Some(m) = todo.pop() {
        if seen.insert(m.clone()) {
            todo.extend(g.get(m).into_iter().flatten());
        }
    }
    seen
}

#[test]
fn the_modules_form_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "read too few modules: {g:?}");
    let cycles: Vec<&String> = g.keys().filter(|m| below(&g, m).contains(*m)).collect();
    let edges: Vec<String> = g
        .iter()
        .map(|(m, refs)| format!("{m} -> {}", Vec::from_iter(refs.iter().cloned()).join(" ")))
        .collect();
    assert!(
        cycles.is_empty(),
        "modules on a cycle: {cycles:?}\n{}",
        edges.join("\n")
    );
}

#[test]
fn what_project_is_built_from_does_not_know_project_config() {
    let g = graph();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let stages = below(&g, "project");
    for stage in ["project_authored", "project_validate", "refs", "pools"] {
        assert!(stages.contains(stage), "project.rs no longer uses {stage}");
    }
    for m in &stages {
        let text = code_of(&std::fs::read_to_string(src.join(format!("{m}.rs"))).unwrap());
        assert!(
            !text.contains("ProjectConfig"),
            "{m}.rs, below project.rs, names ProjectConfig"
        );
    }
}

#[test]
fn the_reader_sees_groups_and_reexports() {
    let refs = crate_refs("use crate::{a, b::C};\nlet x = crate::d::e(crate::Spanned);");
    assert_eq!(
        refs,
        BTreeSet::from(["a", "b", "d", "Spanned"].map(String::from))
    );
    let lib = "pub use decode::{Spanned, check_name};\npub use error::LoadError;";
    assert_eq!(
        reexports(lib).get("Spanned").map(String::as_str),
        Some("decode")
    );
}
