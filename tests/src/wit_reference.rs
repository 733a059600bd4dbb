//! The reference of every item of the plugin contract, rendered as Markdown
//! from the WIT files themselves (their `///` docs), for
//! `docs/plugin-guide.md`. The test `wit_reference` keeps the guide in sync.

use std::fmt::Write as _;
use std::path::Path;

use wit_parser::{Docs, Function, Resolve, Type, TypeDefKind, TypeOwner, WorldItem, WorldKey};

/// The line before the generated reference in the guide.
pub const START: &str = "<!-- wit-reference:start (generated from wit/ by tests/src/wit_reference.rs; WEFT_BLESS=1 cargo test -p weft-tests --test wit_reference rewrites it) -->";
/// The line after it.
pub const END: &str = "<!-- wit-reference:end -->";

/// Render the package in `wit_dir` (its `deps/` are not described).
pub fn render(wit_dir: &Path) -> Result<String, String> {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve
        .push_dir(wit_dir)
        .map_err(|e| format!("{}: {e:#}", wit_dir.display()))?;
    let package = &resolve.packages[pkg];
    let mut out = String::new();
    let _ = writeln!(out, "Package `{}`.\n", package.name);
    for (name, id) in &package.interfaces {
        let iface = &resolve.interfaces[*id];
        let _ = writeln!(out, "### interface `{name}`\n");
        doc(&mut out, &iface.docs, "");
        for (tname, tid) in &iface.types {
            let ty = &resolve.types[*tid];
            if let TypeOwner::Interface(owner) = ty.owner
                && owner != *id
            {
                continue; // a `use` of another interface's type
            }
            type_def(&mut out, &resolve, tname, &ty.kind, &ty.docs);
        }
        for f in iface.functions.values() {
            function(&mut out, &resolve, f);
        }
    }
    for (name, id) in &package.worlds {
        let world = &resolve.worlds[*id];
        let _ = writeln!(out, "### world `{name}`\n");
        doc(&mut out, &world.docs, "");
        for (label, items) in [("imports", &world.imports), ("exports", &world.exports)] {
            let names: Vec<String> = items
                .iter()
                .filter(|(_, item)| matches!(item, WorldItem::Interface { .. }))
                .map(|(key, _)| match key {
                    WorldKey::Name(n) => format!("`{n}`"),
                    WorldKey::Interface(i) => {
                        format!("`{}`", resolve.id_of(*i).unwrap_or_default())
                    }
                })
                .collect();
            let list = if names.is_empty() {
                "nothing".to_owned()
            } else {
                names.join(", ")
            };
            let _ = writeln!(out, "- {label}: {list}");
        }
        out.push('\n');
    }
    Ok(out.trim_end().to_owned() + "\n")
}

fn doc(out: &mut String, docs: &Docs, indent: &str) {
    if let Some(text) = &docs.contents {
        for line in text.trim().lines() {
            let _ = writeln!(out, "{indent}{}", line.trim_end());
        }
        out.push('\n');
    }
}

/// A one-line doc: the docs joined, for list items.
fn inline(docs: &Docs) -> String {
    docs.contents
        .as_deref()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|t| format!(" — {t}"))
        .unwrap_or_default()
}

fn type_def(out: &mut String, resolve: &Resolve, name: &str, kind: &TypeDefKind, docs: &Docs) {
    let what = match kind {
        TypeDefKind::Record(_) => "record",
        TypeDefKind::Variant(_) => "variant",
        TypeDefKind::Enum(_) => "enum",
        TypeDefKind::Flags(_) => "flags",
        TypeDefKind::Resource => "resource",
        _ => "type",
    };
    match kind {
        TypeDefKind::Record(_) | TypeDefKind::Variant(_) | TypeDefKind::Enum(_) => {
            let _ = writeln!(out, "**{what} `{name}`**\n");
        }
        other => {
            let _ = writeln!(out, "**type `{name}` = `{}`**\n", kind_name(resolve, other));
        }
    }
    doc(out, docs, "");
    match kind {
        TypeDefKind::Record(r) => {
            for f in &r.fields {
                let _ = writeln!(
                    out,
                    "- `{}: {}`{}",
                    f.name,
                    type_name(resolve, &f.ty),
                    inline(&f.docs)
                );
            }
            out.push('\n');
        }
        TypeDefKind::Variant(v) => {
            for c in &v.cases {
                let payload =
                    c.ty.as_ref()
                        .map(|t| format!("({})", type_name(resolve, t)));
                let _ = writeln!(
                    out,
                    "- `{}{}`{}",
                    c.name,
                    payload.unwrap_or_default(),
                    inline(&c.docs)
                );
            }
            out.push('\n');
        }
        TypeDefKind::Enum(e) => {
            for c in &e.cases {
                let _ = writeln!(out, "- `{}`{}", c.name, inline(&c.docs));
            }
            out.push('\n');
        }
        _ => {}
    }
}

fn function(out: &mut String, resolve: &Resolve, f: &Function) {
    let params: Vec<String> = f
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, type_name(resolve, &p.ty)))
        .collect();
    let result = f
        .result
        .as_ref()
        .map(|t| format!(" -> {}", type_name(resolve, t)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "**func `{}({}){result}`**\n",
        f.name,
        params.join(", ")
    );
    doc(out, &f.docs, "");
}

fn type_name(resolve: &Resolve, ty: &Type) -> String {
    match ty {
        Type::Id(id) => {
            let def = &resolve.types[*id];
            match &def.name {
                Some(n) => n.clone(),
                None => kind_name(resolve, &def.kind),
            }
        }
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

fn kind_name(resolve: &Resolve, kind: &TypeDefKind) -> String {
    let name = |t: &Type| type_name(resolve, t);
    let opt = |t: &Option<Type>| t.as_ref().map_or_else(|| "_".to_owned(), name);
    match kind {
        TypeDefKind::Type(t) => name(t),
        TypeDefKind::List(t) => format!("list<{}>", name(t)),
        TypeDefKind::Option(t) => format!("option<{}>", name(t)),
        TypeDefKind::Result(r) => match (&r.ok, &r.err) {
            (None, None) => "result".into(),
            (ok, err) => format!("result<{}, {}>", opt(ok), opt(err)),
        },
        TypeDefKind::Tuple(t) => {
            let items: Vec<String> = t.types.iter().map(name).collect();
            format!("tuple<{}>", items.join(", "))
        }
        TypeDefKind::Map(k, v) => format!("map<{}, {}>", name(k), name(v)),
        TypeDefKind::FixedLengthList(t, n) => format!("list<{}, {n}>", name(t)),
        TypeDefKind::Future(t) => format!("future<{}>", opt(t)),
        TypeDefKind::Stream(t) => format!("stream<{}>", opt(t)),
        TypeDefKind::Handle(_) => "handle".into(),
        TypeDefKind::Record(_)
        | TypeDefKind::Resource
        | TypeDefKind::Flags(_)
        | TypeDefKind::Variant(_)
        | TypeDefKind::Enum(_)
        | TypeDefKind::Unknown => "(anonymous)".into(),
    }
}
