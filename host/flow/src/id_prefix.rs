//! `id_prefix:`, in weft.yaml or in a flow: the prefix of run ids, written
//! out (`id_prefix: acme`) or taken from the flow file's path (monorepos):
//!
//! ```yaml
//! id_prefix: { from: path, pattern: "packages/([^/]+)/", default: mono }
//! ```
//!
//! The pattern (a regular expression, `regex` crate syntax) is searched for in
//! the flow file's path relative to the folder of weft.yaml, with `/` between
//! folders; the text of its first group is the prefix. A path it does not
//! match gets `default:`; without one, such a flow does not load. Both the
//! pattern and the prefixes it yields are checked when the file is loaded, with
//! the file and line of the mistake.

use std::path::Path;

use crate::decode::{Ctx, Spanned};
use crate::diagnostic::Location;
use crate::yaml::{self, Node, Pos, Value};

const RULE_KEYS: &[&str] = &["from", "pattern", "default"];

/// The longest prefix: 16 characters.
pub const MAX_PREFIX: usize = 16;

/// A regular expression, compared by its text.
#[derive(Debug, Clone)]
pub struct PathPattern(regex::Regex);

impl PartialEq for PathPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl PathPattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// `id_prefix: { from: path, pattern, default }`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixFromPath {
    /// The pattern; its first group is the prefix.
    pub pattern: PathPattern,
    /// The prefix of a flow whose path the pattern does not match.
    pub default: Option<String>,
    /// Where the pattern is written.
    pub location: Location,
}

/// What the prefix of a path is, by a [`PrefixFromPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPrefix {
    /// The group's text (a valid prefix).
    Matched(String),
    /// The pattern does not match: the rule's default, if any.
    Default(Option<String>),
    /// The group's text is not a valid prefix.
    Invalid {
        /// The group's text.
        text: String,
        /// Why it is not a prefix.
        why: String,
    },
}

impl PrefixFromPath {
    /// The prefix of the flow file at `path` (relative to weft.yaml's folder,
    /// `/`-separated).
    pub fn prefix_of(&self, path: &str) -> PathPrefix {
        let Some(caps) = self.pattern.0.captures(path) else {
            return PathPrefix::Default(self.default.clone());
        };
        let text = caps.get(1).map_or("", |m| m.as_str()).to_owned();
        match check_prefix(&text) {
            Ok(()) => PathPrefix::Matched(text),
            Err(why) => PathPrefix::Invalid { text, why },
        }
    }
}

/// An `id_prefix:` as written.
#[derive(Debug, Clone, PartialEq)]
pub enum IdPrefixDecl {
    /// `id_prefix: acme`.
    Fixed(String),
    /// `id_prefix: { from: path, ... }`.
    FromPath(PrefixFromPath),
}

/// Checks a run id prefix: 1 to [`MAX_PREFIX`] characters of `a-z`, `0-9` and
/// `-`, not starting or ending with `-`.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.chars().count() > MAX_PREFIX {
        return Err(format!("it has {} characters", prefix.chars().count()));
    }
    if let Some(c) = prefix
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if prefix.starts_with('-') || prefix.ends_with('-') {
        return Err("it starts or ends with `-`".into());
    }
    Ok(())
}

const EXPECTED_PREFIX: &str = "expected 1 to 16 characters of a-z, 0-9 and `-` (not first or last)";

/// A prefix string; reports it when invalid.
fn fixed(ctx: &mut Ctx<'_>, s: &Spanned<String>, path: &str) -> bool {
    match check_prefix(&s.value) {
        Ok(()) => true,
        Err(why) => {
            let d = ctx
                .at(s.pos, format!("invalid `{path}` `{}`: {why}", s.value))
                .expected(EXPECTED_PREFIX);
            ctx.push(d);
            false
        }
    }
}

/// Decodes an `id_prefix:` (at `path`, e.g. `id_prefix`): a prefix, or a
/// `{ from: path, pattern, default }` rule whose pattern must compile and have
/// a group. Problems are reported in `ctx`.
pub(crate) fn decode_id_prefix(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<IdPrefixDecl> {
    match &node.value {
        Value::Str(_) => {
            let s = ctx.string(node, path)?;
            fixed(ctx, &s, path).then_some(IdPrefixDecl::Fixed(s.value))
        }
        Value::Map(_) => decode_rule(ctx, node, path).map(IdPrefixDecl::FromPath),
        _ => {
            ctx.wrong_type(
                node,
                path,
                "a prefix such as `acme`, or `{ from: path, pattern: \"packages/([^/]+)/\" }`",
            );
            None
        }
    }
}

fn decode_rule(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<PrefixFromPath> {
    let fields = ctx.map(node, path, RULE_KEYS, node.pos)?;
    let from = ctx.required(
        &fields,
        "from",
        "`path`: the prefix comes from the flow file's path",
    );
    let from = from.and_then(|n| ctx.choice(n, &fields.child("from"), &["path"]));
    let pattern = ctx.required(
        &fields,
        "pattern",
        "a regular expression whose first group is the prefix, e.g. `packages/([^/]+)/`",
    );
    let pattern = pattern.and_then(|n| ctx.string(n, &fields.child("pattern")));
    let pattern = pattern.and_then(|p| compile(ctx, &p, &fields.child("pattern")));
    let mut default = None;
    let mut default_ok = true;
    if let Some(n) = fields.get("default") {
        match ctx.string(n, &fields.child("default")) {
            Some(s) if fixed(ctx, &s, &fields.child("default")) => default = Some(s.value),
            _ => default_ok = false,
        }
    }
    let (_, (regex, pos)) = (from?, pattern?);
    default_ok.then(|| PrefixFromPath {
        pattern: PathPattern(regex),
        default,
        location: yaml::location(ctx.file, pos),
    })
}

fn compile(ctx: &mut Ctx<'_>, p: &Spanned<String>, path: &str) -> Option<(regex::Regex, Pos)> {
    match regex::Regex::new(&p.value) {
        Ok(re) if re.captures_len() > 1 => Some((re, p.pos)),
        Ok(_) => {
            let d = ctx
                .at(p.pos, format!("`{path}` `{}` has no group", p.value))
                .expected("expected a group `( )` around the part of the path that is the prefix")
                .help(
                    "e.g. `packages/([^/]+)/` takes `billing` from `packages/billing/flows/x.yaml`",
                );
            ctx.push(d);
            None
        }
        Err(e) => {
            // The regex crate's message ends with the reason on its last line.
            let why = e.to_string();
            let why = why.lines().last().unwrap_or_default().trim();
            let why = why.strip_prefix("error: ").unwrap_or(why).to_owned();
            let d = ctx
                .at(p.pos, format!("invalid `{path}` `{}`: {why}", p.value))
                .expected("expected a regular expression (Rust `regex` syntax) with a group")
                .help("e.g. `packages/([^/]+)/`");
            ctx.push(d);
            None
        }
    }
}

/// The path a `from: path` rule looks at: `file` relative to `base` (the folder
/// of weft.yaml) when it is inside it, else `file` as given.
pub fn rule_path(file: &str, base: &Path) -> String {
    let path = Path::new(file);
    let relative = path
        .strip_prefix(base)
        .ok()
        .map(Path::to_owned)
        .or_else(|| {
            let path = path.canonicalize().ok()?;
            let base = base.canonicalize().ok()?;
            path.strip_prefix(base).ok().map(Path::to_owned)
        })
        .unwrap_or_else(|| path.to_owned());
    relative.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("acme").is_ok());
        assert!(check_prefix("team-7").is_ok());
        for bad in [
            "",
            "Acme",
            "a b",
            "-a",
            "a-",
            "a/b",
            "a_b",
            "seventeen-chars-x",
        ] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_relative_to_the_project_folder() {
        let base = Path::new("/repo");
        assert_eq!(
            rule_path("/repo/packages/billing/flows/x.yaml", base),
            "packages/billing/flows/x.yaml"
        );
        assert_eq!(rule_path("/elsewhere/x.yaml", base), "/elsewhere/x.yaml");
        assert_eq!(rule_path("flows/x.yaml", Path::new("")), "flows/x.yaml");
    }
}
