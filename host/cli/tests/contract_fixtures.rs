//! Contract stability: components built against `weft:plugin@0.1.0` (kept in
//! tests/fixtures/contract-0.1.0, one per world and language) load and pass
//! their sample cases in this host, whatever has changed since; and a
//! component of a major version this host does not implement is refused with
//! both versions named.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{text, weft};
use weft_tests::repo_root;

const WORLDS: [&str; 4] = ["step", "model", "retry", "pool"];

fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/contract-0.1.0")
}

fn cases(world: &str) -> String {
    fixtures()
        .join(format!("cases/{world}.json"))
        .display()
        .to_string()
}

/// `weft plugin test FILE --cases` passes every case of the world.
fn passes(dir: &Path, wasm: &Path, world: &str) {
    let wasm = wasm.display().to_string();
    let out = weft(dir, &["plugin", "test", &wasm, "--cases", &cases(world)]);
    let table = text(&out.stdout);
    assert!(
        out.status.success(),
        "{wasm}:\n{table}\n{}",
        text(&out.stderr)
    );
    assert!(table.contains(" passed, 0 failed"), "{table}");
}

#[test]
fn checked_in_rust_and_c_components_of_0_1_0_load_and_run() {
    let dir = tempfile::tempdir().unwrap();
    for lang in ["rust", "c"] {
        for world in WORLDS {
            passes(
                dir.path(),
                &fixtures().join(format!("{lang}-{world}.wasm")),
                world,
            );
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// SHA-256 over the names and contents of every file under `dirs`.
fn digest(dirs: &[PathBuf]) -> String {
    use sha2::Digest;
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut hash = sha2::Sha256::new();
    for dir in dirs {
        let mut files = Vec::new();
        walk(dir, &mut files);
        files.sort();
        for file in files {
            hash.update(file.strip_prefix(dir).unwrap().to_string_lossy().as_bytes());
            hash.update(std::fs::read(&file).unwrap());
        }
    }
    hex::encode(hash.finalize())
}

/// The component of a pinned Python or JavaScript fixture, built with
/// `weft plugin build` against the frozen 0.1.0 WIT. Kept in the build folder
/// under the hash of its sources: the component depends on nothing else
/// (the toolchains are pinned by scripts/setup.sh), and building takes a while.
fn built_fixture(work: &Path, name: &str) -> PathBuf {
    let sources = [fixtures().join(name), fixtures().join("wit")];
    let cached = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("contract-fixtures")
        .join(format!("{name}-{}.wasm", &digest(&sources)[..16]));
    if cached.is_file() {
        return cached;
    }
    let project = work.join(name);
    copy_dir(&sources[0], &project);
    copy_dir(&sources[1], &project.join("wit"));
    let dir_arg = project.display().to_string();
    let out = weft(work, &["plugin", "build", &dir_arg]);
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    let tmp = cached.with_extension("tmp");
    std::fs::copy(project.join(format!("dist/{name}.wasm")), &tmp).unwrap();
    std::fs::rename(&tmp, &cached).unwrap();
    cached
}

#[test]
fn python_and_js_plugins_rebuilt_from_pinned_0_1_0_sources_load_and_run() {
    let work = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for lang in ["python", "js"] {
            let work = work.path();
            s.spawn(move || {
                for world in WORLDS {
                    let wasm = built_fixture(work, &format!("{lang}-{world}"));
                    passes(work, &wasm, world);
                }
            });
        }
    });
}

/// The Rust step fixture with every `weft:plugin` name moved to `version`
/// (same length, so the binary stays valid): a component that declares
/// another contract version.
fn with_contract_version(version: &str) -> Vec<u8> {
    assert_eq!(version.len(), "0.1.0".len());
    let bytes = std::fs::read(fixtures().join("rust-step.wasm")).unwrap();
    let from = b"@0.1.0";
    let to = format!("@{version}").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let mut replaced = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(&to);
            i += from.len();
            replaced += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    assert!(replaced > 0, "no @0.1.0 in the fixture");
    out
}

#[test]
fn a_component_of_an_unknown_major_version_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    for version in ["1.0.0", "0.2.0"] {
        let file = dir.path().join(format!("step-{version}.wasm"));
        std::fs::write(&file, with_contract_version(version)).unwrap();
        let file_arg = file.display().to_string();
        for args in [
            vec![
                "plugin",
                "run",
                file_arg.as_str(),
                "--kind",
                "step",
                "--input",
                "{}",
            ],
            vec!["plugin", "inspect", file_arg.as_str()],
        ] {
            let out = weft(dir.path(), &args);
            assert!(
                !out.status.success(),
                "{args:?} accepted a {version} component"
            );
            let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(
                said.contains(&format!("built against weft:plugin@{version}")),
                "{args:?}: {said}"
            );
            assert!(
                said.contains("this host implements weft:plugin@0.1.0"),
                "{args:?}: {said}"
            );
        }
    }
    // The same bytes at another version of the host's line load and run: the
    // refusal is the major version's, not a broken binary's, and a component
    // of 0.1.9 is of the same contract line as this host's 0.1.0.
    let same = dir.path().join("step-0.1.9.wasm");
    std::fs::write(&same, with_contract_version("0.1.9")).unwrap();
    let out = weft(
        dir.path(),
        &[
            "plugin",
            "run",
            &same.display().to_string(),
            "--input",
            r#"{"name":"Ada"}"#,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Hello, Ada!"),
        "{}",
        text(&out.stdout)
    );
}
