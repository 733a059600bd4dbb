//! `weft validate [FILES…] [--json]`: every error of weft.yaml and the flows,
//! then one `error: N errors found` line; with `--json`, the same as one JSON
//! object on stdout for editors and CI annotations. Warnings (a cron line that
//! never fires) are shown too and do not fail the check.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Value, json};
use weft_engine::Engine;
use weft_flow::{CompiledFlow, Diagnostic, LoadError, ProjectConfig, load_flow, load_flow_dir};

use super::project::{find_project_file, flows_dir};
use super::state::print_json;
use crate::cli::ValidateArgs;

/// One problem found: a diagnostic, or a file that could not be read.
enum Problem {
    /// An error at a place in a file.
    Diagnostic(Diagnostic),
    /// A file that could not be read (`file`, and the error's text).
    Unreadable { file: String, message: String },
}

impl Problem {
    /// Every problem `error` holds.
    fn of(error: LoadError) -> Vec<Self> {
        match error {
            LoadError::Invalid(d) => d.0.into_iter().map(Self::Diagnostic).collect(),
            LoadError::Read { ref path, .. } => vec![Self::Unreadable {
                file: path.display().to_string(),
                message: error.to_string(),
            }],
        }
    }

    /// As `weft validate --json` lists it.
    fn to_json(&self) -> Value {
        match self {
            Self::Diagnostic(d) => json!({
                "file": d.file,
                "line": d.line,
                "column": d.column,
                "end_column": d.column + d.width,
                "severity": "error",
                "code": d.code(),
                "message": d.message,
                "expected": d.expected,
                "suggestion": d.help,
            }),
            Self::Unreadable { file, message } => json!({
                "file": file,
                "line": null,
                "column": null,
                "end_column": null,
                "severity": "error",
                "code": "unreadable",
                "message": message,
                "expected": null,
                "suggestion": null,
            }),
        }
    }

    /// As the text output shows it (rustc-like, for a diagnostic).
    fn text(&self) -> String {
        match self {
            Self::Diagnostic(d) => d.to_string(),
            Self::Unreadable { message, .. } => format!("error: {message}"),
        }
    }
}

pub(crate) async fn run(args: ValidateArgs) -> Result<ExitCode> {
    let project_file = find_project_file()?;
    let project = match ProjectConfig::load(&project_file) {
        Ok(p) => p,
        Err(e) => {
            let invalid = format!("{} is invalid", project_file.display());
            return finish(&Problem::of(e), &[], &[], args.json, Some(&invalid));
        }
    };
    let set = if args.files.is_empty() {
        load_flow_dir(&flows_dir(&project), &project)
    } else {
        let mut set = weft_flow::FlowSet::default();
        for file in &args.files {
            match load_flow(file, &project) {
                Ok(flow) => set.flows.push(flow),
                Err(e) => set.errors.push(e),
            }
        }
        set
    };
    let mut problems: Vec<Problem> = set.errors.into_iter().flat_map(Problem::of).collect();
    let runtime = super::standalone_runtime()?;
    let kinds = Engine::check_plugins(&runtime, &project, &set.flows).await;
    problems.extend(kinds.0.into_iter().map(Problem::Diagnostic));
    let now = chrono::Utc::now();
    let warnings: Vec<Diagnostic> = set
        .flows
        .iter()
        .flat_map(|f| weft_flow::schedule_warnings(f, now))
        .map(with_source_line)
        .collect();
    print_warnings(&warnings, args.json);
    finish(&problems, &warnings, &set.flows, args.json, None)
}

/// `d` with the line of its file it points at, when the file can be read.
fn with_source_line(mut d: Diagnostic) -> Diagnostic {
    if d.source_line.is_none()
        && let Ok(source) = std::fs::read_to_string(&d.file)
    {
        d.source_line = d
            .line
            .checked_sub(1)
            .and_then(|i| source.lines().nth(i))
            .map(|l| l.trim_end().to_owned());
    }
    d
}

/// Prints each warning on stderr (text output; JSON lists them instead).
fn print_warnings(warnings: &[Diagnostic], as_json: bool) {
    if as_json {
        return;
    }
    for w in warnings {
        eprintln!("{}\n", w.warning_text());
    }
}

/// A warning as `weft validate --json` lists it.
fn warning_json(d: &Diagnostic) -> Value {
    let mut v = Problem::Diagnostic(d.clone()).to_json();
    v["severity"] = json!("warning");
    v
}

/// Prints the problems (each once, then their count once) or the flows that
/// are fine; exit 1 when there is a problem. `why` says what the problems
/// mean when they are not the flows' (weft.yaml is invalid).
fn finish(
    problems: &[Problem],
    warnings: &[Diagnostic],
    flows: &[CompiledFlow],
    as_json: bool,
    why: Option<&str>,
) -> Result<ExitCode> {
    let code = if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if as_json {
        print_json(&json!({
            "ok": problems.is_empty(),
            "errors": problems.len(),
            "warnings": warnings.len(),
            "diagnostics": problems.iter().map(Problem::to_json)
                .chain(warnings.iter().map(warning_json))
                .collect::<Vec<_>>(),
            "flows": flows.iter().map(|f| json!({
                "id": f.id, "file": f.file, "steps": f.steps.len(),
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(code);
    }
    if !problems.is_empty() {
        for problem in problems {
            eprintln!("{}\n", problem.text());
        }
        let n = problems.len();
        let s = if n == 1 { "" } else { "s" };
        match why {
            Some(why) => eprintln!("error: {n} error{s} found; {why}"),
            None => eprintln!("error: {n} error{s} found"),
        }
        return Ok(code);
    }
    for flow in flows {
        println!(
            "ok: {} ({}, {} steps)",
            flow.id,
            flow.file,
            flow.steps.len()
        );
    }
    Ok(code)
}
