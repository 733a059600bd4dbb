//! A plugin project as `weft plugin new` writes it: a folder with
//! `weft-plugin.json` (name, language, world), the sources, `build.sh`,
//! `cases.json` and the contract in `wit/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use weft_core::PluginKind;

use super::plugin_templates::Lang;

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "weft-plugin.json";

/// What `weft-plugin.json` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// The plugin's name: lowercase letters, digits and `-`.
    pub name: String,
    /// The source language.
    pub lang: Lang,
    /// The world, as a plugin kind (`step`, `model`, `retry`, `pool`).
    pub world: PluginKind,
    /// The contract version the project was made for.
    pub contract: String,
}

impl Manifest {
    /// Where `weft plugin build` puts the component, relative to the project.
    pub(crate) fn wasm(&self) -> PathBuf {
        Path::new("dist").join(format!("{}.wasm", self.name))
    }
}

/// A project folder and its manifest.
pub(crate) struct Project {
    /// The folder.
    pub dir: PathBuf,
    /// Its `weft-plugin.json`.
    pub manifest: Manifest,
}

impl Project {
    /// Read the project in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a plugin project: could not read {} (`weft plugin new` writes one)",
                dir.display(),
                path.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid {MANIFEST}", path.display()))?;
        check_name(&manifest.name).with_context(|| format!("{}: name", path.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// The component's path.
    pub(crate) fn wasm(&self) -> PathBuf {
        self.dir.join(self.manifest.wasm())
    }
}

/// A plugin name must be usable as a file name, a crate name and a weft.yaml
/// key: `a-z`, `0-9` and `-`, starting with a letter.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !ok {
        bail!(
            "`{name}` is not a plugin name: use lowercase letters, digits and `-`, starting \
             with a letter (at most 64 characters), e.g. `my-step`"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("my-step2").is_ok());
        for bad in ["", "My", "2x", "a_b", "a-", "a/b", "a.b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
