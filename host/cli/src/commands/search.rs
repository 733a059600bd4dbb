//! `weft search QUERY [...]`, `weft index rebuild` and `weft index status`:
//! through the daemon when one is named (`--daemon`/`$WEFT_DAEMON`, with the
//! caller's `$WEFT_TOKEN`), else on the state folder, catching the index up
//! with the store first (see [`crate::client`]).

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use weft_flow::ProjectConfig;
use weft_index::{IndexOptions, SearchRequest, SearchResults, Snippet, Sort};

use super::state::{print_json, utc_time};
use crate::cli::{SearchArgs, StateArgs};
use crate::client;

/// `weft search`.
pub(crate) async fn run(args: SearchArgs) -> Result<ExitCode> {
    let results = client::open(&args.state).search(&request(&args)).await?;
    if args.state.json {
        print_json(&json!(results))?;
    } else {
        print(&results, std::io::stdout().is_terminal());
    }
    Ok(ExitCode::SUCCESS)
}

/// The search the flags ask for.
fn request(args: &SearchArgs) -> SearchRequest {
    SearchRequest {
        query: args.query.clone(),
        semantic: args.semantic,
        tenant: args.tenant.clone(),
        flow: args.flow.clone(),
        status: args.status.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        sort: if args.sort == "time" {
            Sort::Time
        } else {
            Sort::Score
        },
        steps: args.steps,
        limit: args.limit,
    }
}

/// The index options of weft.yaml's `search:`.
pub(crate) fn index_options(project: &ProjectConfig) -> IndexOptions {
    let defaults = IndexOptions::default();
    IndexOptions {
        max_text_bytes: project
            .search
            .max_text_bytes
            .unwrap_or(defaults.max_text_bytes),
        commit_interval: project
            .search
            .commit_interval
            .unwrap_or(defaults.commit_interval),
        semantic_model_dir: project.search.semantic_model_dir.clone(),
        semantic_onnxruntime: project.search.semantic_onnxruntime.clone(),
        ..defaults
    }
}

/// One line per hit (run id, flow, status, when), then its snippet indented.
fn print(results: &SearchResults, terminal: bool) {
    if results.hits.is_empty() {
        eprintln!("no matching runs");
        return;
    }
    let id_width = results
        .hits
        .iter()
        .map(|h| h.run_id.len())
        .max()
        .unwrap_or(3);
    let flow_width = results.hits.iter().map(|h| h.flow.len()).max().unwrap_or(4);
    for hit in &results.hits {
        let step = hit
            .step_id
            .as_deref()
            .map(|s| format!("  step {s}"))
            .unwrap_or_default();
        println!(
            "{:id_width$}  {:flow_width$}  {:9}  {}{step}",
            hit.run_id,
            hit.flow,
            hit.status,
            utc_time(hit.created_ms)
        );
        if let Some(snippet) = &hit.snippet {
            println!("    {}: {}", snippet.field, render(snippet, terminal));
        }
    }
}

/// The snippet's text on one line, matches in bold on a terminal.
fn render(snippet: &Snippet, terminal: bool) -> String {
    let text = &snippet.text;
    let mut out = String::new();
    let mut at = 0;
    for [start, end] in &snippet.highlights {
        let (Some(before), Some(matched)) = (text.get(at..*start), text.get(*start..*end)) else {
            continue;
        };
        out.push_str(before);
        if terminal {
            out.push_str("\x1b[1m");
            out.push_str(matched);
            out.push_str("\x1b[0m");
        } else {
            out.push_str(matched);
        }
        at = *end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `weft index rebuild`.
pub(crate) async fn rebuild(args: StateArgs) -> Result<ExitCode> {
    let done = client::open(&args).index_rebuild().await?;
    if args.json {
        print_json(&done)?;
    } else {
        println!(
            "search index rebuilt: {} runs, up to store change {}",
            done["runs"], done["seq"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `weft index status`.
pub(crate) async fn status(args: StateArgs) -> Result<ExitCode> {
    let status = client::open(&args).index_status().await?;
    if args.json {
        print_json(&status)?;
    } else {
        println!(
            "indexed up to store change {} of {} ({} documents)",
            status["indexed_seq"], status["store_head"], status["documents"]
        );
        match status["semantic_seq"].as_u64() {
            Some(seq) => println!("semantic index up to store change {seq}"),
            None => println!("semantic index: not configured"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "a test should fail loudly"
    )]

    use super::*;

    #[test]
    fn matches_are_bold_on_a_terminal_only_and_the_snippet_is_one_line() {
        let snippet = Snippet {
            field: "error".into(),
            text: "charge failed:\n timeout talking to the bank".into(),
            highlights: vec![[16, 23]],
        };
        assert_eq!(
            render(&snippet, true),
            "charge failed: \u{1b}[1mtimeout\u{1b}[0m talking to the bank"
        );
        assert_eq!(
            render(&snippet, false),
            "charge failed: timeout talking to the bank"
        );
    }
}
