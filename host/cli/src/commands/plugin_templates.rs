//! The files `weft plugin new` writes: the templates under `host/cli/templates/`
//! (one folder per language, a subfolder per world, shared sample cases), the C
//! JSON helper of `plugins/c/common/`, and the contract itself from `wit/`, all
//! built into the binary.

use weft_core::PluginKind;

/// A language `weft plugin new` can write a project in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Lang {
    /// Rust with wit-bindgen, target wasm32-wasip2.
    Rust,
    /// Python with componentize-py.
    Python,
    /// JavaScript with componentize-js.
    Js,
    /// C with wit-bindgen c, clang and wasm-tools.
    C,
}

impl Lang {
    /// Every language, in the order the docs list them.
    #[cfg(test)]
    pub(crate) const ALL: [Lang; 4] = [Lang::Rust, Lang::Python, Lang::Js, Lang::C];

    /// The name used on the command line and in `weft-plugin.json`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        }
    }
}

/// One file to write: its path in the project and its text, placeholders
/// (`{{name}}`, `{{ident}}`, `{{world}}`, `{{kind}}`) not yet filled in.
pub(crate) type Template = (&'static str, &'static str);

macro_rules! template {
    ($dest:literal, $src:literal) => {
        ($dest, include_str!(concat!("../../templates/", $src)))
    };
}

macro_rules! repo_file {
    ($dest:literal, $src:literal) => {
        ($dest, include_str!(concat!("../../../../", $src)))
    };
}

/// The contract, copied into every project so that it builds outside weft's
/// repository. Its `deps/` are needed by every world: the package names
/// `wasi:http` in the model world.
const WIT: [Template; 9] = [
    repo_file!("wit/plugin.wit", "wit/plugin.wit"),
    repo_file!("wit/types.wit", "wit/types.wit"),
    repo_file!("wit/deps/cli/cli.wit", "wit/deps/cli/cli.wit"),
    repo_file!("wit/deps/clocks/clocks.wit", "wit/deps/clocks/clocks.wit"),
    repo_file!(
        "wit/deps/filesystem/filesystem.wit",
        "wit/deps/filesystem/filesystem.wit"
    ),
    repo_file!("wit/deps/http/http.wit", "wit/deps/http/http.wit"),
    repo_file!("wit/deps/io/io.wit", "wit/deps/io/io.wit"),
    repo_file!("wit/deps/random/random.wit", "wit/deps/random/random.wit"),
    repo_file!(
        "wit/deps/sockets/sockets.wit",
        "wit/deps/sockets/sockets.wit"
    ),
];

/// The sample cases of a world; the same for every language, since every
/// language's template behaves the same.
fn cases(kind: PluginKind) -> Template {
    match kind {
        PluginKind::Step => template!("cases.json", "cases/step.json"),
        PluginKind::Model => template!("cases.json", "cases/model.json"),
        PluginKind::Retry => template!("cases.json", "cases/retry.json"),
        PluginKind::Pool => template!("cases.json", "cases/pool.json"),
    }
}

/// The files of a language that do not depend on the world.
fn common(lang: Lang) -> Vec<Template> {
    match lang {
        Lang::Rust => vec![
            template!("Cargo.toml", "rust/Cargo.toml"),
            template!("build.sh", "rust/build.sh"),
            template!("README.md", "rust/README.md"),
        ],
        Lang::Python => vec![
            template!("build.sh", "python/build.sh"),
            template!("README.md", "python/README.md"),
        ],
        Lang::Js => vec![
            template!("build.sh", "js/build.sh"),
            template!("package.json", "js/package.json"),
            template!("README.md", "js/README.md"),
        ],
        Lang::C => vec![
            template!("build.sh", "c/build.sh"),
            template!("README.md", "c/README.md"),
            repo_file!("weft_json.h", "plugins/c/common/weft_json.h"),
            repo_file!("weft_json.c", "plugins/c/common/weft_json.c"),
        ],
    }
}

/// The source of a language and world.
fn source(lang: Lang, kind: PluginKind) -> Template {
    use PluginKind::{Model, Pool, Retry, Step};
    match (lang, kind) {
        (Lang::Rust, Step) => template!("src/lib.rs", "rust/step/src/lib.rs"),
        (Lang::Rust, Model) => template!("src/lib.rs", "rust/model/src/lib.rs"),
        (Lang::Rust, Retry) => template!("src/lib.rs", "rust/retry/src/lib.rs"),
        (Lang::Rust, Pool) => template!("src/lib.rs", "rust/pool/src/lib.rs"),
        (Lang::Python, Step) => template!("app.py", "python/step/app.py"),
        (Lang::Python, Model) => template!("app.py", "python/model/app.py"),
        (Lang::Python, Retry) => template!("app.py", "python/retry/app.py"),
        (Lang::Python, Pool) => template!("app.py", "python/pool/app.py"),
        (Lang::Js, Step) => template!("app.js", "js/step/app.js"),
        (Lang::Js, Model) => template!("app.js", "js/model/app.js"),
        (Lang::Js, Retry) => template!("app.js", "js/retry/app.js"),
        (Lang::Js, Pool) => template!("app.js", "js/pool/app.js"),
        (Lang::C, Step) => template!("plugin.c", "c/step/plugin.c"),
        (Lang::C, Model) => template!("plugin.c", "c/model/plugin.c"),
        (Lang::C, Retry) => template!("plugin.c", "c/retry/plugin.c"),
        (Lang::C, Pool) => template!("plugin.c", "c/pool/plugin.c"),
    }
}

/// Every file of a new project in `lang` for `kind`'s world.
pub(crate) fn files(lang: Lang, kind: PluginKind) -> Vec<Template> {
    let mut all = common(lang);
    all.push(source(lang, kind));
    all.push(cases(kind));
    all.extend(WIT);
    all
}

/// Fill in the placeholders of a template.
pub(crate) fn render(text: &str, name: &str, kind: PluginKind) -> String {
    text.replace("{{name}}", name)
        .replace("{{ident}}", &name.replace('-', "_"))
        .replace("{{world}}", kind.world())
        .replace("{{kind}}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The projects carry the contract as it is in `wit/`, whole: a test of
    /// the copy, so an edit of `wit/` cannot leave a folder out.
    #[test]
    fn every_wit_file_is_copied() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&root) {
                    on_disk.push(format!("wit/{}", rel.display()));
                }
            }
        }
        on_disk.sort();
        let mut copied: Vec<String> = WIT.iter().map(|(d, _)| (*d).to_owned()).collect();
        copied.sort();
        assert_eq!(on_disk, copied);
    }

    #[test]
    fn placeholders_are_all_filled() {
        for lang in Lang::ALL {
            for kind in PluginKind::ALL {
                for (path, text) in files(lang, kind) {
                    let out = render(text, "my-plugin", kind);
                    assert!(
                        !out.contains("{{name}}") && !out.contains("{{world}}"),
                        "{path}"
                    );
                    assert!(
                        !out.contains("{{ident}}") && !out.contains("{{kind}}"),
                        "{path}"
                    );
                }
            }
        }
    }
}
