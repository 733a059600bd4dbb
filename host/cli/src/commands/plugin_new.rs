//! `weft plugin new NAME --lang L --world W [--dir DIR]`: write a small plugin
//! project that `weft plugin build` builds and `weft plugin test` tests.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::plugin_project::{MANIFEST, Manifest, check_name};
use super::plugin_templates::{files, render};
use crate::cli::PluginNewArgs;

pub(crate) fn run(args: PluginNewArgs) -> Result<ExitCode> {
    check_name(&args.name)?;
    let dir = args.dir.clone().unwrap_or_else(|| args.name.clone().into());
    if dir.exists() {
        bail!(
            "{} already exists; `weft plugin new` writes only into a new folder \
             (choose another NAME or --dir)",
            dir.display()
        );
    }
    let manifest = Manifest {
        name: args.name.clone(),
        lang: args.lang,
        world: args.world,
        contract: weft_core::WIT_PACKAGE_VERSION.into(),
    };
    write_project(&dir, &manifest)
        .with_context(|| format!("could not write the project into {}", dir.display()))?;
    println!(
        "wrote {} ({} {} plugin, world {} of weft:plugin@{})",
        dir.display(),
        args.lang.as_str(),
        args.world,
        args.world.world(),
        weft_core::WIT_PACKAGE_VERSION
    );
    println!(
        "next: weft plugin build {0} && weft plugin test {0}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_project(dir: &Path, manifest: &Manifest) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for (path, text) in files(manifest.lang, manifest.world) {
        let dest = dir.join(path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&dest, render(text, &manifest.name, manifest.world))
            .with_context(|| format!("writing {}", dest.display()))?;
        if path.ends_with(".sh") {
            make_executable(&dest)?;
        }
    }
    std::fs::write(dir.join(".gitignore"), "/dist/\n/target/\n/node_modules/\n")?;
    let text = serde_json::to_string_pretty(manifest)?;
    std::fs::write(dir.join(MANIFEST), format!("{text}\n"))?;
    Ok(())
}

fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_mode(perms.mode() | 0o755);
    std::fs::set_permissions(path, perms)?;
    Ok(())
}
