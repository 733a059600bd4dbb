//! `weft init DIR [--force]`: write a starter project (weft.yaml, flows/hello.yaml,
//! the reference plugins, a .gitignore) that validates and runs as it is.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::InitArgs;
use crate::embedded::REFERENCE_PLUGINS;

/// The longest id prefix `weft init` derives from a folder name.
const MAX_PREFIX: usize = 16;

/// The starter flow: a model call, a transform, two parallel steps and a join,
/// all served by the embedded reference plugins.
const HELLO_FLOW: &str = r#"# A starter flow: a model writes a greeting, a transform keeps what we need, two
# steps work on it in parallel, and a last step joins their results.
# How a step is called: `with:` is the plugin's config; a step without `needs`
# gets the run input, the others an object of the outputs of the steps they
# need, keyed by step id. Reference: docs/flows.md in the weft repository.
id: hello
version: 1
description: Greet someone through the mock model.

inputs:
  name:
    type: string
    default: world
    description: Who to greet.

steps:
  greet:
    uses: prompt
    model: mock
    with:
      system: You are friendly. Answer in one sentence.
      template: "Write a short greeting for {{name}}."

  shape:
    uses: json-transform
    needs: [greet]
    with:
      pick: [greet.text, greet.usage.output_tokens]
      rename:
        greet.text: greeting
        greet.usage.output_tokens: tokens

  wrap:
    uses: echo
    needs: [shape]
    with:
      wrap: message

  label:
    uses: json-transform
    needs: [shape]
    with:
      pick: [shape.tokens]
      rename:
        shape.tokens: tokens
      set:
        to: ${{ input.name }}

  card:
    uses: json-transform
    needs: [wrap, label]
    with:
      pick: [wrap.message.shape.greeting, label.to, label.tokens]
      rename:
        wrap.message.shape.greeting: greeting
        label.to: to
        label.tokens: tokens
"#;

/// Writes the starter project into `args.dir`.
pub(crate) fn run(args: InitArgs) -> Result<ExitCode> {
    let dir = &args.dir;
    let config = dir.join("weft.yaml");
    if config.exists() && !args.force {
        bail!(
            "{} already exists; use `weft init {} --force` to overwrite the starter files",
            config.display(),
            dir.display()
        );
    }
    for sub in ["flows", "plugins"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("could not create {}", dir.join(sub).display()))?;
    }
    let prefix = id_prefix(dir);
    write(&config, project_yaml(&prefix).as_bytes())?;
    write(&dir.join("flows/hello.yaml"), HELLO_FLOW.as_bytes())?;
    for (name, _, bytes) in REFERENCE_PLUGINS {
        write(&dir.join("plugins").join(format!("{name}.wasm")), bytes)?;
    }
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() || args.force {
        write(&gitignore, b".weft/\n")?;
    }
    println!(
        "wrote a weft project to {} (run ids start with `{prefix}-`)",
        dir.display()
    );
    println!(
        "  weft.yaml, flows/hello.yaml, {} plugins in plugins/, .gitignore",
        REFERENCE_PLUGINS.len()
    );
    println!("next:");
    println!(
        "  cd {} && weft validate && weft run hello -i '{{\"name\":\"ada\"}}'",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path`, naming the file on failure.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("could not write {}", path.display()))
}

/// The run id prefix for a project in `dir`: its folder name in `[a-z0-9-]`, at
/// most 16 characters, or `app`.
fn id_prefix(dir: &Path) -> String {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    sanitize(&name)
}

/// `name` lowercased, other characters as `-`, runs of `-` collapsed, no `-` at
/// either end, cut to 16; `app` when nothing is left.
fn sanitize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let out: String = out.chars().take(MAX_PREFIX).collect();
    let out = out.trim_matches('-');
    if out.is_empty() {
        "app".to_owned()
    } else {
        out.to_owned()
    }
}

/// The starter weft.yaml: every reference plugin, a mock model, defaults.
fn project_yaml(prefix: &str) -> String {
    let mut yaml = format!(
        "# weft project config; paths are relative to this file.\nid_prefix: {prefix}\n\nplugins:\n"
    );
    for (name, kind, _) in REFERENCE_PLUGINS {
        // Writing to a String cannot fail.
        let _ = writeln!(
            yaml,
            "  {name}: {{ path: plugins/{name}.wasm, kind: {kind} }}"
        );
    }
    yaml.push_str(
        "\nmodels:\n  mock:\n    adapter: mock-model\n    config: {}\n\n\
         defaults:\n  timeout: 30s\n  retry: { strategy: exp-backoff, max_attempts: 3 }\n\n\
         pools:\n  default: { policy: priority-fifo, max_concurrent: 8 }\n\n\
         state: .weft\n",
    );
    yaml
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn prefixes_are_sanitized_and_cut() {
        assert_eq!(sanitize("My Project!"), "my-project");
        assert_eq!(sanitize("a_very_long_project_name"), "a-very-long-proj");
        assert_eq!(sanitize("--x--"), "x");
        assert_eq!(sanitize("___"), "app");
        assert_eq!(sanitize("ÜberApp"), "berapp");
    }
}
