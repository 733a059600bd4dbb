//! `weft plugin build DIR`: check the project's toolchain, run its `build.sh`,
//! and check that the result is a component of the project's world.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use super::plugin_project::Project;
use super::plugin_templates::Lang;
use super::plugin_toolchain::resolve;
use crate::cli::PluginBuildArgs;
use crate::embedded::WASI_REACTOR_ADAPTER;

pub(crate) async fn run(args: PluginBuildArgs) -> Result<ExitCode> {
    let project = Project::open(&args.dir)?;
    let wasm = build(&project).await?;
    let size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {} ({size} bytes, world {} of weft:plugin@{})",
        wasm.display(),
        project.manifest.world.world(),
        weft_core::WIT_PACKAGE_VERSION
    );
    Ok(ExitCode::SUCCESS)
}

/// Build `project` into its `dist/NAME.wasm` and return that path.
pub(crate) async fn build(project: &Project) -> Result<PathBuf> {
    let m = &project.manifest;
    let script = project.dir.join("build.sh");
    if !script.is_file() {
        bail!(
            "{} is missing: a project of `weft plugin new` builds with it",
            script.display()
        );
    }
    let mut env = resolve(m.lang, &project.dir)?;
    if m.lang == Lang::C {
        env.push(("WASI_ADAPTER", write_adapter(&project.dir)?));
    }
    let wasm = project.wasm();
    if let Some(dir) = wasm.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let out_tmp = absolute(&wasm.with_extension("wasm.tmp"))?;
    let output = Command::new("bash")
        .arg(absolute(&script)?)
        .arg(&out_tmp)
        .current_dir(&project.dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .context("could not run bash (needed to run build.sh)")?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&out_tmp);
        bail!(
            "{} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::rename(&out_tmp, &wasm)
        .with_context(|| format!("build.sh wrote no {}", out_tmp.display()))?;

    let runtime = super::standalone_runtime()?;
    let bytes = weft_runtime::read(&wasm)?;
    let inspection = runtime
        .inspect(&bytes)
        .await
        .with_context(|| format!("{} is not a weft plugin", wasm.display()))?;
    if inspection.world != Some(m.world) {
        let why = inspection
            .verdicts
            .iter()
            .find(|(k, _)| *k == m.world)
            .and_then(|(_, v)| v.clone())
            .unwrap_or_default();
        bail!(
            "{} was built but is not a {} component: {why}",
            wasm.display(),
            m.world.world()
        );
    }
    Ok(wasm)
}

/// The WASI preview-1 reactor adapter that turns a wasm32-wasip1 core module
/// into a component, written where the build can read it: weft carries the
/// one of its own wasmtime version.
fn write_adapter(project: &Path) -> Result<PathBuf> {
    let dir = project.join("target");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = absolute(&dir.join("wasi_snapshot_preview1.reactor.wasm"))?;
    std::fs::write(&path, WASI_REACTOR_ADAPTER)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

#[cfg(test)]
mod tests {
    /// The adapter must be the one of the wasmtime weft runs on: both pins in
    /// the workspace's Cargo.toml say the same version.
    #[test]
    fn the_adapter_is_of_the_workspace_wasmtime_version() {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        let pin = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| {
                    l.split("version = \"=")
                        .nth(1)
                        .or_else(|| l.split("= \"=").nth(1))
                })
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        };
        let wasmtime = pin("wasmtime = ");
        assert!(
            wasmtime.is_some(),
            "no wasmtime pin in {}",
            manifest.display()
        );
        assert_eq!(pin("wasi-preview1-component-adapter-provider = "), wasmtime);
    }
}
