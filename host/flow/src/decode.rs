//! Stage 2 helpers: read typed values out of a [`Node`] tree, recording a
//! [`Diagnostic`] for every key or value that is wrong and going on with the rest.

use std::time::Duration;

use crate::diagnostic::{Diagnostic, did_you_mean, one_of};
use crate::duration::parse_duration;
use crate::yaml::{Key, Node, Pos, Value, location};

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub pos: Pos,
}

/// The decoding context: the file name and the errors found so far.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub errors: Vec<Diagnostic>,
}

/// The keys of a mapping that passed the unknown-key check.
pub(crate) struct Fields<'n> {
    pub entries: &'n [(Key, Node)],
    /// Where to report a missing key: the key that names this mapping.
    pub at: Pos,
    /// The dotted path of this mapping, e.g. `steps.fetch`.
    pub path: String,
}

impl<'n> Fields<'n> {
    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    /// The key `name` and its value, if present.
    pub fn entry(&self, name: &str) -> Option<(&'n Key, &'n Node)> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, v)| (k, v))
    }

    /// The dotted path of key `name` of this mapping.
    pub fn child(&self, name: &str) -> String {
        child_path(&self.path, name)
    }
}

/// `parent.name`, or `name` at the top level.
pub(crate) fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn describe(path: &str) -> String {
    if path.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`{path}`")
    }
}

impl<'a> Ctx<'a> {
    /// A fresh context for `file`.
    pub fn new(file: &'a str) -> Self {
        Self {
            file,
            errors: Vec::new(),
        }
    }

    /// A diagnostic at `pos`, underlining the node.
    pub fn at(&self, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&location(self.file, pos), message).width(pos.width)
    }

    /// Record `d`.
    pub fn push(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// Record a wrong-type error for `node` at `path`.
    pub fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        let d = self
            .at(
                node.pos,
                format!(
                    "wrong type for {}: found {}",
                    describe(path),
                    node.type_name()
                ),
            )
            .expected(format!("expected {expected}"));
        self.push(d);
    }

    /// `node` as a mapping whose keys are all in `allowed`; unknown keys are
    /// reported (with a suggestion) and skipped. `at` is where a missing key is
    /// reported.
    pub fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
        at: Pos,
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, path, "a mapping");
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                let d = self
                    .at(
                        key.pos,
                        format!("unknown key `{}` in {}", key.name, describe(path)),
                    )
                    .expected(format!("expected one of {}", allowed.join(", ")))
                    .maybe_help(did_you_mean(&key.name, allowed.iter().copied()));
                self.push(d);
            }
        }
        Some(Fields {
            entries,
            at,
            path: path.to_owned(),
        })
    }

    /// `node` as a mapping with free keys (names chosen by the user).
    pub fn entries<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            Value::Null => Some(&[]),
            _ => {
                self.wrong_type(node, path, "a mapping");
                None
            }
        }
    }

    /// Each entry of the free-keyed mapping `node` at `path`, in file order,
    /// through `decode`; the entries it gives `None` for are left out.
    pub fn decode_entries<'n, T>(
        &mut self,
        node: &'n Node,
        path: &str,
        mut decode: impl FnMut(&mut Self, &'n Key, &'n Node) -> Option<T>,
    ) -> Vec<T> {
        let entries = self.entries(node, path).unwrap_or_default();
        entries
            .iter()
            .filter_map(|(key, value)| decode(self, key, value))
            .collect()
    }

    /// Record an error if `fields` has no key `name`; return its value otherwise.
    pub fn required<'n>(
        &mut self,
        fields: &Fields<'n>,
        name: &str,
        what: &str,
    ) -> Option<&'n Node> {
        let found = fields.get(name);
        if found.is_none() {
            let d = self
                .at(
                    fields.at,
                    format!("missing key `{name}` in {}", describe(&fields.path)),
                )
                .expected(format!("expected `{name}`: {what}"));
            self.push(d);
        }
        found
    }

    /// A string value.
    pub fn string(&mut self, node: &Node, path: &str) -> Option<Spanned<String>> {
        match &node.value {
            Value::Str(s) => Some(Spanned {
                value: s.clone(),
                pos: node.pos,
            }),
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    /// A name: a string of `[a-z0-9_-]`, starting with a letter or digit, at most
    /// `max` characters.
    pub fn name(&mut self, node: &Node, path: &str, max: usize) -> Option<Spanned<String>> {
        let s = self.string(node, path)?;
        if let Err(why) = check_name(&s.value, max) {
            let d = self
                .at(
                    node.pos,
                    format!("invalid name `{}` for {}: {why}", s.value, describe(path)),
                )
                .expected(format!(
                    "expected lowercase letters, digits, `-` or `_`, at most {max} characters"
                ));
            self.push(d);
            return None;
        }
        Some(s)
    }

    /// A boolean value.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(node, path, "`true` or `false`");
                None
            }
        }
    }

    /// A whole number in `min..=max`.
    pub fn integer(&mut self, node: &Node, path: &str, min: i64, max: i64) -> Option<i64> {
        match &node.value {
            Value::Int(i) if (min..=max).contains(i) => Some(*i),
            Value::Int(i) => {
                let d = self
                    .at(
                        node.pos,
                        format!("{i} is out of range for {}", describe(path)),
                    )
                    .expected(format!("expected a whole number from {min} to {max}"));
                self.push(d);
                None
            }
            _ => {
                self.wrong_type(node, path, "a whole number");
                None
            }
        }
    }

    /// A duration longer than zero, in weft's one grammar
    /// ([`crate::duration`]): `250ms`, `1.5s`, `1m30s`, `7d`.
    pub fn duration(&mut self, node: &Node, path: &str) -> Option<Spanned<Duration>> {
        const EXPECTED: &str = "expected a number with a unit: ms, s, m, h or d";
        match &node.value {
            Value::Str(s) => {
                let (why, expected) = match parse_duration(s) {
                    Ok(d) if !d.is_zero() => {
                        return Some(Spanned {
                            value: d,
                            pos: node.pos,
                        });
                    }
                    Ok(_) => (
                        "it must be longer than zero".to_owned(),
                        "expected a duration longer than zero",
                    ),
                    Err(e) => (e.reason.to_string(), EXPECTED),
                };
                let d = self
                    .at(
                        node.pos,
                        format!("invalid duration `{s}` for {}: {why}", describe(path)),
                    )
                    .expected(expected)
                    .help("write e.g. `250ms`, `1.5s`, `1m30s` or `7d`");
                self.push(d);
                None
            }
            Value::Int(i) => {
                let d = self
                    .at(
                        node.pos,
                        format!("a duration without a unit for {}", describe(path)),
                    )
                    .expected(EXPECTED)
                    .help(format!(
                        "write `{i}s` for {i} seconds, or `{i}ms` for milliseconds"
                    ));
                self.push(d);
                None
            }
            _ => {
                self.wrong_type(node, path, "a duration such as `30s`");
                None
            }
        }
    }

    /// A mapping given as JSON (an empty or absent value is `{}`).
    pub fn object(&mut self, node: &Node, path: &str) -> Option<serde_json::Value> {
        match &node.value {
            Value::Map(_) => Some(node.to_json()),
            Value::Null => Some(serde_json::Value::Object(serde_json::Map::new())),
            _ => {
                self.wrong_type(node, path, "a mapping");
                None
            }
        }
    }

    /// A list of strings.
    pub fn string_list(&mut self, node: &Node, path: &str) -> Vec<Spanned<String>> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.string(n, &format!("{path}[{i}]")))
                .collect(),
            Value::Str(s) => vec![Spanned {
                value: s.clone(),
                pos: node.pos,
            }],
            Value::Null => Vec::new(),
            _ => {
                self.wrong_type(node, path, "a list of names");
                Vec::new()
            }
        }
    }

    /// One of `choices` (for enums written as strings).
    pub fn choice(&mut self, node: &Node, path: &str, choices: &[&str]) -> Option<Spanned<String>> {
        let s = self.string(node, path)?;
        if choices.contains(&s.value.as_str()) {
            return Some(s);
        }
        let d = self
            .at(
                node.pos,
                format!("invalid value `{}` for {}", s.value, describe(path)),
            )
            .expected(format!("expected {}", one_of(choices)))
            .maybe_help(did_you_mean(&s.value, choices.iter().copied()));
        self.push(d);
        None
    }
}

/// Check a name against `[a-z0-9][a-z0-9_-]*`, at most `max` characters.
pub fn check_name(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.chars().count() > max {
        return Err(format!("it is longer than {max} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if name.starts_with(['-', '_']) {
        return Err("it must start with a letter or a digit".to_owned());
    }
    Ok(())
}
