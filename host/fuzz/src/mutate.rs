//! Structure-aware mutations of real inputs: line edits of YAML text that keep
//! its shape recognisable (keys, indentation, values, templates), and edits of
//! a JSON tree (replace, drop or add a node, with known key names).

use arbitrary::Unstructured;
use serde_json::Value;

use crate::values::{odd_json, odd_string};

/// `text` after one to four line-level edits: drop, repeat or swap lines,
/// re-indent one, replace a value, add a `key: value` line with one of `keys`,
/// cut the text short, or splice in odd text.
pub fn mutate_text(u: &mut Unstructured<'_>, text: &str, keys: &[&str]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let edits = u.int_in_range(1u8..=4).unwrap_or(1);
    for _ in 0..edits {
        let n = lines.len();
        let at = if n == 0 {
            0
        } else {
            u.int_in_range(0..=n - 1).unwrap_or(0)
        };
        match u.int_in_range(0u8..=9).unwrap_or(0) {
            0 if n > 0 => {
                lines.remove(at);
            }
            1 if n > 0 => {
                let line = lines[at].clone();
                lines.insert(at, line);
            }
            2 if n > 1 => {
                let other = u.int_in_range(0..=n - 1).unwrap_or(0);
                lines.swap(at, other);
            }
            3 if n > 0 => {
                let line = &mut lines[at];
                match u.int_in_range(0u8..=2).unwrap_or(0) {
                    0 => line.insert_str(0, "  "),
                    1 => {
                        let trimmed = line.trim_start().to_owned();
                        *line = trimmed;
                    }
                    _ => line.insert(0, '\t'),
                }
            }
            4 | 5 if n > 0 => {
                let line = &mut lines[at];
                if let Some(colon) = line.find(':') {
                    line.truncate(colon + 1);
                    line.push(' ');
                    line.push_str(&yaml_scalar(u));
                }
            }
            6 => {
                let key = u.choose(keys).copied().unwrap_or("id");
                let indent = " ".repeat(usize::from(u.int_in_range(0u8..=3).unwrap_or(0)) * 2);
                lines.insert(at, format!("{indent}{key}: {}", yaml_scalar(u)));
            }
            7 if n > 0 => {
                let line = &mut lines[at];
                if let (Some(open), Some(close)) = (line.find("${{"), line.rfind("}}"))
                    && open < close
                {
                    line.replace_range(open..close + 2, &odd_string(u));
                } else {
                    line.push_str(" ${{ ");
                    line.push_str(&odd_string(u));
                    line.push_str(" }}");
                }
            }
            8 => {
                let joined = lines.join("\n");
                let cut = u.int_in_range(0..=joined.len()).unwrap_or(0);
                let cut = (0..=cut)
                    .rev()
                    .find(|&i| joined.is_char_boundary(i))
                    .unwrap_or(0);
                lines = joined[..cut].lines().map(str::to_owned).collect();
            }
            _ if n > 0 => {
                let line = &mut lines[at];
                let pos = (0..=line.len())
                    .filter(|&i| line.is_char_boundary(i))
                    .nth(u.int_in_range(0..=line.len()).unwrap_or(0))
                    .unwrap_or(0);
                line.insert_str(pos, &odd_string(u));
            }
            _ => lines.push(odd_string(u)),
        }
    }
    lines.join("\n")
}

/// The JSON pointer of a node chosen by walking down from the root.
fn pick_pointer(u: &mut Unstructured<'_>, value: &Value) -> String {
    let mut pointer = String::new();
    let mut node = value;
    while u.ratio(3u8, 4u8).unwrap_or(false) {
        let len = match node {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let i = u.int_in_range(0..=len - 1).unwrap_or(0);
        let step = match node {
            Value::Object(map) => map
                .iter()
                .nth(i)
                .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v)),
            Value::Array(items) => items.get(i).map(|v| (i.to_string(), v)),
            _ => None,
        };
        let Some((segment, child)) = step else { break };
        pointer.push('/');
        pointer.push_str(&segment);
        node = child;
    }
    pointer
}

/// A YAML scalar or small flow collection to put after a key.
fn yaml_scalar(u: &mut Unstructured<'_>) -> String {
    match u.int_in_range(0u8..=5).unwrap_or(0) {
        0 => odd_string(u),
        1 => format!(
            "\"{}\"",
            odd_string(u).replace('\\', "\\\\").replace('"', "\\\"")
        ),
        2 => odd_json(u, 3).to_string(),
        3 => "[]".to_owned(),
        4 => "{}".to_owned(),
        _ => format!("'{}'", odd_string(u).replace('\'', "''")),
    }
}

/// Edit one node of `value`, chosen by walking down from the root: replace it
/// with odd JSON, drop one of its entries, add an entry named from `keys`,
/// repeat an array element, or turn a scalar into a string or a list.
pub fn mutate_tree(u: &mut Unstructured<'_>, value: &mut Value, keys: &[&str]) {
    let pointer = pick_pointer(u, value);
    if let Some(node) = value.pointer_mut(&pointer) {
        edit(u, node, keys);
    }
}

/// One edit of `node`.
fn edit(u: &mut Unstructured<'_>, node: &mut Value, keys: &[&str]) {
    match (u.int_in_range(0u8..=5).unwrap_or(0), node) {
        (0, Value::Object(map)) if !map.is_empty() => {
            let i = u.int_in_range(0..=map.len() - 1).unwrap_or(0);
            if let Some(key) = map.keys().nth(i).cloned() {
                map.remove(&key);
            }
        }
        (1, Value::Object(map)) => {
            let key = u.choose(keys).copied().unwrap_or("id").to_owned();
            map.insert(key, odd_json(u, 3));
        }
        (2, Value::Array(items)) if !items.is_empty() => {
            let i = u.int_in_range(0..=items.len() - 1).unwrap_or(0);
            let item = items[i].clone();
            items.push(item);
        }
        (3, node @ (Value::Bool(_) | Value::Number(_) | Value::Null)) => {
            *node = Value::String(node.to_string());
        }
        (4, node) => {
            let old = node.take();
            *node = Value::Array(vec![old]);
        }
        (_, node) => *node = odd_json(u, 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_change_the_text_and_keep_going_on_empty_input() {
        let text = "id: a\nsteps:\n  s:\n    uses: echo\n    with: { x: \"${{ inputs.n }}\" }\n";
        let mut rng = crate::Rng::new(5);
        let mut buf = Vec::new();
        let mut changed = 0;
        for _ in 0..100 {
            rng.fill(&mut buf, 256);
            let mut u = Unstructured::new(&buf);
            if mutate_text(&mut u, text, &["needs"]) != text.trim_end() {
                changed += 1;
            }
            let mut u = Unstructured::new(&buf);
            let _ = mutate_text(&mut u, "", &[]);
        }
        assert!(changed > 50, "{changed}");
    }

    #[test]
    fn tree_mutations_change_the_tree() {
        let original =
            serde_json::json!({"id": "a", "steps": {"s": {"uses": "echo", "needs": ["t"]}}});
        let mut rng = crate::Rng::new(6);
        let mut buf = Vec::new();
        let mut changed = 0;
        for _ in 0..100 {
            rng.fill(&mut buf, 256);
            let mut v = original.clone();
            mutate_tree(&mut Unstructured::new(&buf), &mut v, &["needs"]);
            if v != original {
                changed += 1;
            }
        }
        assert!(changed > 50, "{changed}");
    }
}
