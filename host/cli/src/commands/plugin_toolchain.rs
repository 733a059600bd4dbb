//! Finding each language's toolchain for `weft plugin build`: on `PATH`, in
//! the project, or in weft's tools folder (`$WEFT_TOOLS_DIR`, default
//! `~/.cache/weft/tools`, where weft's `scripts/setup.sh` installs them). A
//! missing tool is an error that names it and says how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use super::plugin_templates::Lang;

/// The versions weft's own build uses; the install hints name them.
const COMPONENTIZE_PY: &str = "0.25.1";
const COMPONENTIZE_JS: &str = "0.23.0";
const PREVIEW2_SHIM: &str = "0.25.0";
const WIT_BINDGEN: &str = "0.63.0";
const WASM_TOOLS: &str = "1.262.0";

/// The environment `build.sh` gets: the tools' paths, as the variables the
/// templates' build scripts read.
pub(crate) type ToolEnv = Vec<(&'static str, PathBuf)>;

/// weft's tools folder.
pub(crate) fn tools_dir() -> PathBuf {
    match std::env::var_os("WEFT_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => home().join(".cache/weft/tools"),
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// `name` on `PATH`, else in the first of `dirs` that has it.
fn find(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(dirs.iter().cloned())
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Check that `lang`'s tools are there and say where they are.
pub(crate) fn resolve(lang: Lang, project: &Path) -> Result<ToolEnv> {
    let tools = tools_dir();
    match lang {
        Lang::Rust => rust(),
        Lang::Python => {
            let Some(cpy) = find("componentize-py", &[tools.join("venv/bin")]) else {
                let venv = tools.join("venv");
                bail!(
                    "componentize-py (the Python toolchain) was not found on PATH or in {}/bin. \
                     Install it: python3 -m venv {0} && {0}/bin/pip install \
                     componentize-py=={COMPONENTIZE_PY} (weft's scripts/setup.sh does this)",
                    venv.display()
                );
            };
            Ok(vec![("COMPONENTIZE_PY", cpy)])
        }
        Lang::Js => {
            if find("node", &[]).is_none() {
                bail!("node (Node.js 18 or later) was not found on PATH; install Node.js and npm");
            }
            let node = tools.join("node");
            let local = project.join("node_modules/.bin");
            let Some(cjs) = find("componentize-js", &[local, node.join("node_modules/.bin")])
            else {
                bail!(
                    "componentize-js (the JavaScript toolchain) was not found in the project's \
                     node_modules, on PATH or in {}/node_modules/.bin. Install it: `npm install` \
                     in the project, or npm install --prefix {0} \
                     @bytecodealliance/componentize-js@{COMPONENTIZE_JS} \
                     @bytecodealliance/preview2-shim@{PREVIEW2_SHIM} (weft's scripts/setup.sh \
                     does this)",
                    node.display()
                );
            };
            Ok(vec![("COMPONENTIZE_JS", cjs)])
        }
        Lang::C => c(&tools),
    }
}

fn rust() -> Result<ToolEnv> {
    let cargo_bin = home().join(".cargo/bin");
    let Some(cargo) = find("cargo", std::slice::from_ref(&cargo_bin)) else {
        bail!(
            "cargo (the Rust toolchain) was not found on PATH; install it with rustup (https://rustup.rs)"
        );
    };
    // Without rustup the target may come from elsewhere; cargo says if not.
    if let Some(rustup) = find("rustup", &[cargo_bin]) {
        let installed = Command::new(rustup)
            .args(["target", "list", "--installed"])
            .output();
        if let Ok(out) = installed
            && out.status.success()
            && !String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip2")
        {
            bail!(
                "the Rust target wasm32-wasip2 is not installed; install it: rustup target add wasm32-wasip2"
            );
        }
    }
    Ok(vec![("CARGO", cargo)])
}

fn c(tools: &Path) -> Result<ToolEnv> {
    let cargo_tools = [tools.join("cargo/bin"), home().join(".cargo/bin")];
    let Some(wit_bindgen) = find("wit-bindgen", &cargo_tools) else {
        bail!(
            "wit-bindgen (the C bindings generator) was not found on PATH or in {}. Install \
             it: cargo install --locked wit-bindgen-cli --version {WIT_BINDGEN}",
            cargo_tools[0].display()
        );
    };
    let Some(wasm_tools) = find("wasm-tools", &cargo_tools) else {
        bail!(
            "wasm-tools was not found on PATH or in {}. Install it: cargo install --locked \
             wasm-tools --version {WASM_TOOLS}",
            cargo_tools[0].display()
        );
    };
    const APT: &str = "apt-get install clang-22 lld-22 wasi-libc libclang-rt-22-dev-wasm32";
    let clang = match std::env::var_os("CLANG") {
        Some(c) if !c.is_empty() => Some(PathBuf::from(c)),
        _ => find("clang-22", &[]).or_else(|| find("clang", &[])),
    };
    let Some(clang) = clang else {
        bail!(
            "clang was not found on PATH (looked for clang-22 and clang; CLANG may name it). Install it (Debian): {APT}"
        );
    };
    // clang's wasm32 runtime library comes in a package of its own.
    let rt = Command::new(&clang)
        .args([
            "--target=wasm32-wasi",
            "-rtlib=compiler-rt",
            "-print-libgcc-file-name",
        ])
        .output();
    match rt {
        Ok(out) if out.status.success() => {
            let lib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if !lib.is_file() {
                bail!(
                    "{} has no wasm32 runtime library ({} is missing). Install it (Debian): {APT}",
                    clang.display(),
                    lib.display()
                );
            }
        }
        _ => bail!(
            "{} cannot target wasm32. Install a clang that can (Debian): {APT}",
            clang.display()
        ),
    }
    let Some(sysroot) = wasi_sysroot() else {
        bail!(
            "wasi-libc was not found (no libc.a under /usr/lib/wasm32-wasi*; WASI_SYSROOT may name a sysroot). Install it (Debian): {APT}"
        );
    };
    Ok(vec![
        ("WIT_BINDGEN", wit_bindgen),
        ("WASM_TOOLS", wasm_tools),
        ("CLANG", clang),
        ("WASI_SYSROOT", sysroot),
    ])
}

fn wasi_sysroot() -> Option<PathBuf> {
    let given = std::env::var_os("WASI_SYSROOT")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let candidates = given.into_iter().chain([
        PathBuf::from("/usr"),
        PathBuf::from("/opt/wasi-sdk/share/wasi-sysroot"),
    ]);
    candidates.into_iter().find(|root| {
        ["wasm32-wasip1", "wasm32-wasi"]
            .iter()
            .any(|t| root.join("lib").join(t).join("libc.a").is_file())
    })
}
