//! Values chosen to break parsers and handlers: odd strings (empty, huge,
//! control characters, template and path syntax) and odd JSON (extreme
//! numbers, deep nesting, odd keys), drawn from [`Unstructured`] bytes.

use arbitrary::Unstructured;
use serde_json::{Map, Number, Value};

/// Strings that have broken parsers somewhere.
const ODD: &[&str] = &[
    "",
    " ",
    "\0",
    "\n",
    "\r\n",
    "\t",
    "~",
    "null",
    "-",
    "--",
    "...",
    "${{",
    "${{ }}",
    "}}",
    "${{ inputs. }}",
    "${{ steps.a.output }}",
    "${{ inputs.x[0] }}",
    "${{ inputs.x[99999999999999999999] }}",
    "${{ ${{ }} }}",
    "../../etc/passwd",
    "/",
    "//",
    "%",
    "%00",
    "%zz",
    "?",
    "#",
    "*",
    "**",
    "@",
    "@daily",
    "@every 1s",
    "0 */5 * * * *",
    "* * * * * * *",
    "0 0 0 31 2 * 2099",
    "59 59 23 31 12 * 9999",
    "1-0 * * * * *",
    "*/0 * * * * *",
    "0-59/4294967296 * * * * *",
    "0",
    "-1",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "1e308",
    "1e309",
    "NaN",
    "inf",
    "-0",
    "0x10",
    "1.5",
    "1s",
    "0s",
    "1ms",
    "99999999999999999999h",
    "18446744073709551615s",
    "1d",
    "1h30m",
    "1 s",
    "s",
    "µs",
    "é",
    "\u{202e}",
    "\u{feff}",
    "\u{10ffff}",
    "𝕨𝕖𝕗𝕥",
    "a:b",
    "a.b",
    "a/b",
    "a b",
    "&anchor",
    "*anchor",
    "!!binary",
    "!tag",
    "{",
    "[",
    "]",
    "\"",
    "'",
    "\\",
    "<<",
];

/// One odd string: from the list above, a long run of one, a mix of two, or
/// arbitrary text.
pub fn odd_string(u: &mut Unstructured<'_>) -> String {
    let pick = |u: &mut Unstructured<'_>| (*u.choose(ODD).unwrap_or(&"")).to_owned();
    match u.int_in_range(0u8..=9).unwrap_or(0) {
        0..=3 => pick(u),
        4 => {
            let s = pick(u);
            let times = u.int_in_range(1usize..=70_000).unwrap_or(1);
            let unit = if s.is_empty() { "a".to_owned() } else { s };
            unit.repeat(times.min(200_000 / unit.len().max(1)))
        }
        5 => format!("{}{}", pick(u), pick(u)),
        _ => String::arbitrary_take(u),
    }
}

/// Helper so callers need not import the trait.
trait TakeString {
    fn arbitrary_take(u: &mut Unstructured<'_>) -> String;
}

impl TakeString for String {
    fn arbitrary_take(u: &mut Unstructured<'_>) -> String {
        <String as arbitrary::Arbitrary>::arbitrary(u).unwrap_or_default()
    }
}

/// One odd JSON value at most `depth` levels deep (deeper nests, up to a few
/// hundred levels, are made on purpose now and then).
pub fn odd_json(u: &mut Unstructured<'_>, depth: u32) -> Value {
    let choice = if depth == 0 {
        u.int_in_range(0u8..=4).unwrap_or(0)
    } else {
        u.int_in_range(0u8..=8).unwrap_or(0)
    };
    match choice {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary().unwrap_or(false)),
        2 => odd_number(u),
        3 | 4 => Value::String(odd_string(u)),
        5 => {
            let n = u.int_in_range(0usize..=6).unwrap_or(0);
            Value::Array((0..n).map(|_| odd_json(u, depth - 1)).collect())
        }
        6 | 7 => {
            let n = u.int_in_range(0usize..=6).unwrap_or(0);
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(odd_string(u), odd_json(u, depth - 1));
            }
            Value::Object(map)
        }
        _ => {
            let levels = u.int_in_range(1usize..=400).unwrap_or(1);
            let mut v = Value::Null;
            for _ in 0..levels {
                v = Value::Array(vec![v]);
            }
            v
        }
    }
}

fn odd_number(u: &mut Unstructured<'_>) -> Value {
    let n = match u.int_in_range(0u8..=7).unwrap_or(0) {
        0 => Number::from(i64::MIN),
        1 => Number::from(i64::MAX),
        2 => Number::from(u64::MAX),
        3 => Number::from(0),
        4 => Number::from(-1),
        5 => Number::from_f64(f64::MAX).unwrap_or_else(|| Number::from(0)),
        6 => Number::from_f64(-0.0).unwrap_or_else(|| Number::from(0)),
        _ => {
            let f: f64 = u.arbitrary().unwrap_or(0.0);
            Number::from_f64(f).unwrap_or_else(|| Number::from(u.arbitrary::<i64>().unwrap_or(0)))
        }
    };
    Value::Number(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_values_come_in_variety() {
        let mut rng = crate::Rng::new(9);
        let mut buf = Vec::new();
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..300 {
            rng.fill(&mut buf, 512);
            let mut u = Unstructured::new(&buf);
            let v = odd_json(&mut u, 3);
            kinds.insert(match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Number(_) => 2,
                Value::String(_) => 3,
                Value::Array(_) => 4,
                Value::Object(_) => 5,
            });
        }
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }
}
