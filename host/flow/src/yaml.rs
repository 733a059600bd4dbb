//! Stage 1: YAML text → a tree of [`Node`]s that each know their line and column.
//!
//! saphyr's `MarkedYaml` gives every node (keys included) a span, and rejects
//! duplicate keys. serde-saphyr reports locations too, but stops at the first error
//! and cannot point at a node after deserialisation, which the semantic checks
//! (cycles, template references, plugin kinds) need. So the tree is decoded by hand
//! in the `decode` module, collecting every error.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::diagnostic::{Diagnostic, Location};

/// Where a node starts, and how many characters of its line to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Characters to underline (1 when the node spans lines).
    pub width: usize,
}

/// The value of a YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A finite floating point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys, in source order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where it is.
    pub pos: Pos,
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What it holds.
    pub value: Value,
}

impl Node {
    /// The YAML type name used in messages: "a string", "a mapping", ...
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as JSON (mapping keys are strings already).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parse `source` (the text of `file`) into one document's node tree.
///
/// An empty file is an empty mapping. Syntax errors, several documents, non-string
/// keys and non-finite numbers are reported as diagnostics.
pub fn parse(file: &str, source: &str) -> Result<Node, Vec<Diagnostic>> {
    let docs = MarkedYaml::load_from_str(source).map_err(|e| {
        let m = e.marker();
        let loc = Location {
            file: file.to_owned(),
            line: m.line().max(1),
            column: m.col() + 1,
        };
        vec![
            Diagnostic::new(&loc, format!("invalid YAML: {}", e.info()))
                .help("check the indentation and quoting around this place"),
        ]
    })?;
    let mut errors = Vec::new();
    let mut docs = docs.into_iter();
    let Some(first) = docs.next() else {
        return Ok(Node {
            pos: Pos {
                line: 1,
                column: 1,
                width: 1,
            },
            value: Value::Map(Vec::new()),
        });
    };
    if let Some(second) = docs.next() {
        let loc = location(file, pos_of(&second));
        errors.push(
            Diagnostic::new(&loc, "a second YAML document in one file")
                .help("put each flow in its own file, and remove the `---` line"),
        );
    }
    let node = convert(file, &first, &mut errors);
    if errors.is_empty() {
        Ok(node)
    } else {
        Err(errors)
    }
}

/// The [`Location`] of `pos` in `file`.
pub fn location(file: &str, pos: Pos) -> Location {
    Location {
        file: file.to_owned(),
        line: pos.line,
        column: pos.column,
    }
}

fn pos_of(node: &MarkedYaml<'_>) -> Pos {
    let start = node.span.start;
    let end = node.span.end;
    let width = if end.line() == start.line() && end.col() > start.col() {
        end.col() - start.col()
    } else {
        1
    };
    Pos {
        line: start.line().max(1),
        column: start.col() + 1,
        width,
    }
}

fn convert(file: &str, node: &MarkedYaml<'_>, errors: &mut Vec<Diagnostic>) -> Node {
    let pos = pos_of(node);
    let value = match &node.data {
        YamlData::Value(scalar) => scalar_value(file, pos, scalar, errors),
        YamlData::Representation(text, _, _) => Value::Str(text.to_string()),
        YamlData::Sequence(items) => {
            Value::Seq(items.iter().map(|n| convert(file, n, errors)).collect())
        }
        YamlData::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map {
                let key_pos = pos_of(k);
                let name = match &k.data {
                    YamlData::Value(Scalar::String(s)) => s.to_string(),
                    YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                    YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                    YamlData::Representation(text, _, _) => text.to_string(),
                    _ => {
                        errors.push(
                            Diagnostic::new(
                                &location(file, key_pos),
                                "a mapping key that is not a string",
                            )
                            .expected("a plain name")
                            .width(key_pos.width),
                        );
                        continue;
                    }
                };
                entries.push((Key { name, pos: key_pos }, convert(file, v, errors)));
            }
            Value::Map(entries)
        }
        YamlData::Tagged(_, inner) => return convert(file, inner, errors),
        YamlData::Alias(_) | YamlData::BadValue => {
            errors.push(
                Diagnostic::new(&location(file, pos), "a value YAML cannot resolve")
                    .help("anchors, aliases and tags are not supported in weft files"),
            );
            Value::Null
        }
    };
    Node { pos, value }
}

fn scalar_value(file: &str, pos: Pos, scalar: &Scalar<'_>, errors: &mut Vec<Diagnostic>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => {
            let f = f.into_inner();
            if f.is_finite() {
                Value::Float(f)
            } else {
                errors.push(
                    Diagnostic::new(&location(file, pos), "a number that is not finite")
                        .expected("a finite number")
                        .width(pos.width),
                );
                Value::Null
            }
        }
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let node = parse("t.yaml", "a: 1\nbb:\n  c: hello\n").unwrap();
        let Value::Map(entries) = &node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[1].0.pos.line, 2);
        assert_eq!(entries[1].0.pos.column, 1);
        let Value::Map(inner) = &entries[1].1.value else {
            panic!("not a map")
        };
        assert_eq!(inner[0].0.pos.line, 3);
        assert_eq!(inner[0].0.pos.column, 3);
        assert_eq!(inner[0].1.pos.column, 6);
        assert_eq!(inner[0].1.pos.width, 5);
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let errors = parse("t.yaml", "a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.starts_with("invalid YAML"));
    }
}
