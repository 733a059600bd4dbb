//! `weft plugin inspect FILE.wasm`

use std::process::ExitCode;

use anyhow::{Context, Result};
use weft_runtime::Inspection;

use crate::cli::InspectArgs;

pub(crate) async fn run(args: InspectArgs) -> Result<ExitCode> {
    let runtime = super::standalone_runtime()?;
    let bytes = weft_runtime::read(&args.file)?;
    let inspection = runtime
        .inspect(&bytes)
        .await
        .with_context(|| format!("{} is not a weft plugin", args.file.display()))?;
    if args.json {
        let report = serde_json::json!({
            "file": args.file,
            "size": inspection.size,
            "sha256": inspection.sha256,
            "world": inspection.world.map(|k| k.world()),
            "kind": inspection.world,
            "exports": inspection.shape.exports,
            "imports": inspection.shape.imports,
            "worlds": inspection.verdicts.iter().map(|(k, v)| serde_json::json!({
                "world": k.world(),
                "satisfied": v.is_none(),
                "reason": v,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&args.file.display().to_string(), &inspection));
    }
    if inspection.world.is_some() {
        Ok(ExitCode::SUCCESS)
    } else {
        if !args.json {
            eprintln!(
                "error: {} satisfies no weft world (see the reasons above)",
                args.file.display()
            );
        }
        Ok(ExitCode::FAILURE)
    }
}

fn render(file: &str, i: &Inspection) -> String {
    let mut out = String::new();
    let world = match i.world {
        Some(k) => format!(
            "{} (weft:plugin@{})",
            k.world(),
            weft_core::WIT_PACKAGE_VERSION
        ),
        None => "none".into(),
    };
    out.push_str(&format!("file:    {file}\n"));
    out.push_str(&format!("size:    {} bytes\n", i.size));
    out.push_str(&format!("sha256:  {}\n", i.sha256));
    out.push_str(&format!("world:   {world}\n"));
    out.push_str("exports:\n");
    for e in &i.shape.exports {
        out.push_str(&format!("  {e}\n"));
    }
    out.push_str("imports:\n");
    for e in &i.shape.imports {
        out.push_str(&format!("  {e}\n"));
    }
    out.push_str("worlds:\n");
    for (kind, verdict) in &i.verdicts {
        match verdict {
            None => out.push_str(&format!("  {:<13} yes\n", kind.world())),
            Some(reason) => {
                let reason = reason.replace('\n', "\n                ");
                out.push_str(&format!("  {:<13} no: {reason}\n", kind.world()));
            }
        }
    }
    out
}
