//! The arguments of `weft plugin new`, `build` and `test`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use weft_core::PluginKind;

use crate::commands::plugin_templates::Lang;
use weft_flow::duration::parse_duration;

/// Arguments of `weft plugin new`.
#[derive(Debug, Args)]
pub struct PluginNewArgs {
    /// The plugin's name (lowercase letters, digits and `-`), e.g. `my-step`.
    pub name: String,
    /// The language of its source.
    #[arg(long)]
    pub lang: Lang,
    /// The world it targets: step, model, retry or pool.
    #[arg(long)]
    pub world: PluginKind,
    /// The folder to create (default: NAME); it must not exist yet.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Arguments of `weft plugin build`.
#[derive(Debug, Args)]
pub struct PluginBuildArgs {
    /// The project folder (one with `weft-plugin.json`).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Arguments of `weft plugin test`.
#[derive(Debug, Args)]
pub struct PluginTestArgs {
    /// A project folder (its `dist/NAME.wasm` and `cases.json`), or a `.wasm`
    /// file (with the `cases.json` beside it unless `--cases` names one).
    #[arg(default_value = ".")]
    pub target: PathBuf,
    /// The cases file: a JSON list of `{name, config, input, model, expect |
    /// expect_error}`.
    #[arg(long)]
    pub cases: Option<PathBuf>,
    /// Wall-clock deadline of each call.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
}
