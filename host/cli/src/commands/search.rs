//! `weft search QUERY [...]`, `weft index rebuild` and `weft index status`:
//! through the daemon when one is named (`--daemon`/`$WEFT_DAEMON`, with the
//! caller's `$WEFT_TOKEN`), else on the state folder, catching the index up
//! with the store first.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use weft_index::{IndexOptions, SearchIndex, SearchRequest, SearchResults, Snippet, Sort};

use weft_flow::ProjectConfig;

use super::daemon_client::DaemonClient;
use super::project::{find_project_file, load_project};
use super::state::{StateStore, now_ms, print_json, utc_time};
use crate::cli::{SearchArgs, StateArgs};

/// `weft search`.
pub(crate) async fn run(args: SearchArgs) -> Result<ExitCode> {
    let results = match DaemonClient::from_flag(args.state.daemon.as_deref()) {
        Some(daemon) => remote(&daemon, &args)?,
        None => {
            let mut index = open_local(&args.state).await?;
            // Loading the model costs time: only for a semantic search.
            if args.semantic {
                index = index.with_semantic();
            }
            let request = request(&args);
            // Indexing is CPU work: on a blocking thread, which drives the
            // store's reads itself.
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || -> Result<SearchResults> {
                runtime.block_on(async {
                    if request.semantic {
                        index.catch_up().await.map(drop)
                    } else {
                        index.catch_up_keyword().await.map(drop)
                    }
                    .context("could not bring the search index up to date")?;
                    Ok(index.search(&request, now_ms())?)
                })
            })
            .await??
        }
    };
    if args.state.json {
        print_json(&json!(results))?;
    } else {
        print(&results, std::io::stdout().is_terminal());
    }
    Ok(ExitCode::SUCCESS)
}

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

/// The search index of the state folder, over its store.
async fn open_local(state: &StateArgs) -> Result<SearchIndex> {
    let options = local_options();
    let state = StateStore::open(state).await?;
    let dir = state.dir.join("index");
    SearchIndex::open(&dir, state.store, options)
        .with_context(|| format!("could not open the search index in {}", dir.display()))
}

/// [`open_local`], except that an index that does not open is removed and
/// made anew (it is derived from the store: a rebuild loses nothing).
async fn open_local_or_anew(state: &StateArgs) -> Result<SearchIndex> {
    let options = local_options();
    let state = StateStore::open(state).await?;
    let dir = state.dir.join("index");
    match SearchIndex::open(&dir, state.store.clone(), options.clone()) {
        Ok(index) => Ok(index),
        Err(e) => {
            eprintln!(
                "the search index in {} does not open ({e}): removing it and building it anew",
                dir.display()
            );
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("could not remove {}", dir.display()))?;
            SearchIndex::open(&dir, state.store, options)
                .with_context(|| format!("could not create the search index in {}", dir.display()))
        }
    }
}

/// The index options of the project's weft.yaml, if there is one (`--state DIR`
/// works without one).
fn local_options() -> IndexOptions {
    find_project_file()
        .ok()
        .and_then(|file| load_project(&file).ok())
        .map_or_else(IndexOptions::default, |p| index_options(&p))
}

/// `GET /v1/search`.
fn remote(daemon: &DaemonClient, args: &SearchArgs) -> Result<SearchResults> {
    let mut query = vec![
        ("q", args.query.clone()),
        ("sort", args.sort.clone()),
        ("limit", args.limit.to_string()),
    ];
    if args.semantic {
        query.push(("semantic", "true".into()));
    }
    if args.steps {
        query.push(("steps", "true".into()));
    }
    for (key, value) in [
        ("flow", &args.flow),
        ("status", &args.status),
        ("tenant", &args.tenant),
        ("since", &args.since),
        ("until", &args.until),
    ] {
        if let Some(v) = value {
            query.push((key, v.clone()));
        }
    }
    let answer = daemon.get("/v1/search", &query)?;
    serde_json::from_value(answer.clone())
        .with_context(|| format!("the daemon's search answer is not understood: {answer}"))
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
    let done: serde_json::Value = match DaemonClient::from_flag(args.daemon.as_deref()) {
        Some(daemon) => daemon.post("/v1/index/rebuild", None)?.1,
        None => {
            let index = open_local_or_anew(&args).await?.with_semantic();
            let runtime = tokio::runtime::Handle::current();
            json!(tokio::task::spawn_blocking(move || runtime.block_on(index.rebuild())).await??)
        }
    };
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
    let status: serde_json::Value = match DaemonClient::from_flag(args.daemon.as_deref()) {
        Some(daemon) => daemon.get("/v1/index", &[])?,
        None => {
            let index = open_local(&args).await?.with_semantic();
            json!(index.status().await?)
        }
    };
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
