//! Entry points: a flow's text, a flow file, a folder of flow files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::authored;
use crate::compiled::CompiledFlow;
use crate::decode::Ctx;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::LoadError;
use crate::project::ProjectConfig;
use crate::validate::validate;
use crate::yaml;

/// Parse, validate and compile the text of a flow file. `file` names it in
/// errors. Every error found is returned, in source order.
pub fn compile_flow(
    file: &str,
    source: &str,
    project: &ProjectConfig,
) -> Result<CompiledFlow, Diagnostics> {
    let mut ctx = Ctx::new(file);
    let compiled = match yaml::parse(file, source) {
        Ok(root) => {
            authored::decode(&mut ctx, &root).and_then(|flow| validate(&mut ctx, flow, project))
        }
        Err(errors) => {
            ctx.errors = errors;
            None
        }
    };
    let mut diags = Diagnostics(ctx.errors);
    diags.finish(file, source);
    match compiled {
        Some(flow) if diags.is_empty() => Ok(flow),
        _ => Err(diags),
    }
}

/// Read and compile the flow file at `path`.
pub fn load_flow(path: &Path, project: &ProjectConfig) -> Result<CompiledFlow, LoadError> {
    let source = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    compile_flow(&path.display().to_string(), &source, project).map_err(LoadError::Invalid)
}

/// The flows of a folder, and the errors of those that did not compile.
#[derive(Debug, Default)]
pub struct FlowSet {
    /// Flows that compiled, in file name order.
    pub flows: Vec<CompiledFlow>,
    /// Files that did not, and flow ids used by two files.
    pub errors: Vec<LoadError>,
}

impl FlowSet {
    /// Whether every file compiled.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The `.yaml` and `.yml` files directly in `dir`, sorted by name.
pub fn flow_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let read_err = |source| LoadError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Compile every flow file in `dir` (see [`flow_files`]), collecting every
/// error of every file, and reject two files with the same flow id.
pub fn load_flow_dir(dir: &Path, project: &ProjectConfig) -> FlowSet {
    let mut set = FlowSet::default();
    let files = match flow_files(dir) {
        Ok(files) => files,
        Err(e) => {
            set.errors.push(e);
            return set;
        }
    };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for path in files {
        match load_flow(&path, project) {
            Ok(flow) => {
                if let Some(first) = seen.get(&flow.id) {
                    let d = Diagnostic::new(
                        &flow.id_location,
                        format!("flow id `{}` is used twice", flow.id),
                    )
                    .expected("expected each flow file to have its own `id`")
                    .help(format!("`{}` is also the id of {first}", flow.id))
                    .width(flow.id.chars().count());
                    set.errors.push(LoadError::Invalid(Diagnostics(vec![d])));
                    continue;
                }
                seen.insert(flow.id.clone(), flow.file.clone());
                set.flows.push(flow);
            }
            Err(e) => set.errors.push(e),
        }
    }
    set
}
