//! Finding and loading the project (`weft.yaml` in the current folder or a
//! parent) for the commands that work on flows.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use weft_flow::ProjectConfig;

/// The `weft.yaml` in the current folder or the nearest parent.
pub(crate) fn find_project_file() -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    for dir in cwd.ancestors() {
        let candidate = dir.join("weft.yaml");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("no weft.yaml in {} or any parent folder", cwd.display())
}

/// Loads the project config at `path`; its diagnostics are the error.
pub(crate) fn load_project(path: &Path) -> Result<ProjectConfig> {
    ProjectConfig::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The flows folder of a project.
pub(crate) fn flows_dir(project: &ProjectConfig) -> PathBuf {
    project.base_dir.join("flows")
}
