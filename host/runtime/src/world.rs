//! Checking a component's imports and exports against the weft world it should
//! target, with messages that name each missing or extra item.

use wasmtime::Engine;
use wasmtime::component::Component;
use weft_core::{PluginKind, WIT_PACKAGE_VERSION};

use crate::error::LoadError;

/// The names a component imports and exports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComponentShape {
    /// Imported instance or function names, e.g. `weft:plugin/host@0.1.0`.
    pub imports: Vec<String>,
    /// Exported names, e.g. `weft:plugin/step@0.1.0`.
    pub exports: Vec<String>,
}

/// WASI interfaces every world may import: language runtimes import them whether
/// or not the plugin uses them. The host links them with nothing granted: no
/// files, no environment, no sockets.
const WASI_BASE: [&str; 6] = [
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

impl ComponentShape {
    /// Read the shape of a compiled component.
    pub fn of(engine: &Engine, component: &Component) -> Self {
        let ty = component.component_type();
        let mut imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
        let mut exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
        imports.sort();
        exports.sort();
        Self { imports, exports }
    }

    /// The weft world whose export this component has, if exactly one.
    pub fn claimed_world(&self) -> Option<PluginKind> {
        let mut kinds = PluginKind::ALL.into_iter().filter(|k| {
            self.exports
                .iter()
                .any(|e| same_interface(e, &k.export_name()))
        });
        match (kinds.next(), kinds.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        }
    }
}

/// Refuse a component that names `weft:plugin` items of a contract line this
/// host does not implement, before anything else is said about it.
fn check_contract(shape: &ComponentShape) -> Result<(), LoadError> {
    let items = shape.exports.iter().chain(&shape.imports);
    for item in items {
        let Some(rest) = item.strip_prefix("weft:plugin/") else {
            continue;
        };
        let version = rest.split_once('@').map_or("", |(_, v)| v);
        if !weft_core::contract_compatible(version) {
            return Err(LoadError::UnsupportedContract {
                found: if version.is_empty() {
                    "(no version)".into()
                } else {
                    version.into()
                },
                item: item.clone(),
                host: WIT_PACKAGE_VERSION,
            });
        }
    }
    Ok(())
}

/// Check `shape` against `kind`'s world.
pub(crate) fn check(shape: &ComponentShape, kind: PluginKind) -> Result<(), LoadError> {
    check_contract(shape)?;
    let want = kind.export_name();
    // An export of another version of the host's line is the same export
    // (check_contract has refused other lines); wasmtime finds it by semver.
    let is_want = |e: &String| *e == want || same_interface(e, &want);
    let mut problems = Vec::new();
    let mut named_already = None;
    if !shape.exports.iter().any(is_want) {
        let mut line = format!("missing export `{want}`");
        if let Some(k) = shape.claimed_world() {
            line.push_str(&format!(
                " (it exports `{}`: it is a {} plugin, built for the {} world)",
                k.export_name(),
                k,
                k.world()
            ));
            named_already = Some(k.export_name());
        }
        problems.push(line);
    }
    // Toolchains add exports of their own (componentize-py exports an `exports`
    // instance with `init`); only another weft or WASI interface means the
    // component was built for something else.
    let foreign = |e: &&String| {
        !is_want(e)
            && named_already.as_ref() != Some(*e)
            && (e.starts_with("weft:") || e.starts_with("wasi:"))
    };
    for export in shape.exports.iter().filter(foreign) {
        problems.push(format!(
            "extra export `{export}`: a {} exports only `{want}`",
            kind.world()
        ));
    }
    for import in shape.imports.iter().filter(|i| !import_allowed(kind, i)) {
        problems.push(format!(
            "imports `{import}`, which the {} world does not provide",
            kind.world()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LoadError::WrongWorld {
            world: kind.world(),
            problems,
        })
    }
}

fn import_allowed(kind: PluginKind, name: &str) -> bool {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    if let Some(weft) = interface.strip_prefix("weft:plugin/") {
        let compatible = version
            .split('.')
            .take(2)
            .eq(WIT_PACKAGE_VERSION.split('.').take(2));
        return compatible
            && match weft {
                "types" => true,
                "logging" => matches!(kind, PluginKind::Step | PluginKind::Model),
                "host" => kind == PluginKind::Step,
                _ => false,
            };
    }
    if interface.starts_with("wasi:http/") {
        return kind == PluginKind::Model;
    }
    WASI_BASE.iter().any(|p| interface.starts_with(p))
}

/// `weft:plugin/step@0.1.0` and `weft:plugin/step@0.2.0` name the same interface.
fn same_interface(a: &str, b: &str) -> bool {
    a.split('@').next() == b.split('@').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(imports: &[&str], exports: &[&str]) -> ComponentShape {
        ComponentShape {
            imports: imports.iter().map(|s| s.to_string()).collect(),
            exports: exports.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_step_with_wasi_basics_passes() {
        let s = shape(
            &["wasi:cli/environment@0.2.6", "weft:plugin/host@0.1.0"],
            &["weft:plugin/step@0.1.0"],
        );
        assert!(check(&s, PluginKind::Step).is_ok());
        assert_eq!(s.claimed_world(), Some(PluginKind::Step));
    }

    #[test]
    fn names_the_world_a_wrong_plugin_was_built_for() {
        let s = shape(&[], &["weft:plugin/retry-strategy@0.1.0"]);
        let err = check(&s, PluginKind::Step)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("missing export `weft:plugin/step@0.1.0`"),
            "{err}"
        );
        assert!(
            err.contains("retry plugin, built for the retry-plugin world"),
            "{err}"
        );
        assert!(!err.contains("extra export"), "named once is enough: {err}");
        let two = shape(&[], &["weft:plugin/step@0.1.0", "wasi:cli/run@0.2.6"]);
        let err = check(&two, PluginKind::Step)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("extra export `wasi:cli/run@0.2.6`"), "{err}");
    }

    #[test]
    fn refuses_imports_outside_the_world() {
        let s = shape(
            &[
                "wasi:http/outgoing-handler@0.2.12",
                "weft:plugin/host@0.1.0",
            ],
            &["weft:plugin/pool-policy@0.1.0"],
        );
        let err = check(&s, PluginKind::Pool)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("imports `wasi:http/outgoing-handler@0.2.12`"),
            "{err}"
        );
        assert!(err.contains("imports `weft:plugin/host@0.1.0`"), "{err}");
        let model = shape(
            &["wasi:http/outgoing-handler@0.2.12"],
            &["weft:plugin/model-adapter@0.1.0"],
        );
        assert!(check(&model, PluginKind::Model).is_ok());
    }

    #[test]
    fn accepts_another_version_of_the_same_line() {
        let s = shape(
            &["weft:plugin/types@0.1.4"],
            &["weft:plugin/retry-strategy@0.1.4"],
        );
        assert!(check(&s, PluginKind::Retry).is_ok());
    }

    #[test]
    fn refuses_another_package_version() {
        let s = shape(&["weft:plugin/host@0.2.0"], &["weft:plugin/step@0.2.0"]);
        let err = check(&s, PluginKind::Step)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("built against weft:plugin@0.2.0")
                && err.contains("this host implements weft:plugin@0.1.0"),
            "{err}"
        );
    }
}
