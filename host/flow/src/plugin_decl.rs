//! `plugins:` in `weft.yaml`: each plugin's `.wasm` file, kind and config. A
//! section that names nothing else, so it is final once decoded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use weft_core::PluginKind;

use crate::decode::{Ctx, check_name};
use crate::diagnostic::Location;
use crate::yaml::{self, location};

const PLUGIN_KEYS: &[&str] = &["path", "kind", "config"];

/// A plugin declared in `weft.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginDecl {
    /// Its name, used by `uses:`, `strategy:`, `pool:` and model `adapter:`.
    pub name: String,
    /// The `.wasm` file, resolved against the folder of `weft.yaml`.
    pub path: PathBuf,
    /// The kind `weft.yaml` says it is.
    pub kind: PluginKind,
    /// `config:` as JSON (`{}` when absent).
    pub config: Json,
    /// Where the plugin is declared (its name in `weft.yaml`).
    pub location: Location,
    /// Where its `kind:` is written.
    pub kind_location: Location,
}

/// Plugins by name.
pub(crate) type Plugins = BTreeMap<String, PluginDecl>;

/// Decodes `plugins:`; a plugin with a missing or wrong `path`, `kind` or
/// `config` is reported and left out (so references to it are unknown).
pub(crate) fn decode_plugins(ctx: &mut Ctx<'_>, node: &yaml::Node, base: &Path) -> Plugins {
    ctx.decode_entries(node, "plugins", |ctx, key, value| {
        decode_plugin(ctx, key, value, base)
    })
    .into_iter()
    .map(|p| (p.name.clone(), p))
    .collect()
}

fn decode_plugin(
    ctx: &mut Ctx<'_>,
    key: &yaml::Key,
    node: &yaml::Node,
    base: &Path,
) -> Option<PluginDecl> {
    let path = format!("plugins.{}", key.name);
    if let Err(why) = check_name(&key.name, 64) {
        let d = ctx
            .at(
                key.pos,
                format!("invalid plugin name `{}`: {why}", key.name),
            )
            .expected("expected lowercase letters, digits, `-` or `_`");
        ctx.push(d);
    }
    let fields = ctx.map(node, &path, PLUGIN_KEYS, key.pos)?;
    let file = ctx.required(&fields, "path", "the `.wasm` file, relative to weft.yaml");
    let file = file.and_then(|n| ctx.string(n, &fields.child("path")));
    if let Some(f) = &file
        && Path::new(&f.value).is_absolute()
    {
        let d = ctx
            .at(f.pos, format!("absolute plugin path `{}`", f.value))
            .expected("expected a path relative to the folder of weft.yaml")
            .help("relative paths keep a project movable, e.g. `plugins/dist/echo.wasm`");
        ctx.push(d);
    }
    let kind_node = ctx.required(&fields, "kind", "step, model, retry or pool");
    let kind = kind_node.and_then(|n| {
        ctx.choice(
            n,
            &fields.child("kind"),
            &["step", "model", "retry", "pool"],
        )
    });
    let kind_pos = kind.as_ref().map(|k| k.pos);
    let kind = kind.and_then(|k| k.value.parse::<PluginKind>().ok());
    let config = match fields.get("config") {
        Some(n) => ctx.object(n, &fields.child("config"))?,
        None => Json::Object(serde_json::Map::new()),
    };
    let (file, kind, kind_pos) = (file?, kind?, kind_pos?);
    Some(PluginDecl {
        name: key.name.clone(),
        path: base.join(&file.value),
        kind,
        config,
        location: location(ctx.file, key.pos),
        kind_location: location(ctx.file, kind_pos),
    })
}
