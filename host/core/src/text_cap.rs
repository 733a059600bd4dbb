//! Cutting a text to a cap with a marker that says how long it was, for the
//! error messages the host keeps (weft.yaml `limits.error_message_bytes`).

use std::borrow::Cow;

/// What starts the marker [`cap_text`] appends.
const MARKER: &str = "… [truncated ";

/// `text` cut to at most `max` bytes (on a character boundary) with a marker
/// saying how long it was: `… [truncated 52428800 bytes to 65536]`. A text
/// that already ends with such a marker (cut before, e.g. by a worker) keeps
/// the length it names, the original one.
pub fn cap_text(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let original = marked_len(text).map_or(text.len(), |n| n.max(text.len()));
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!(
        "{}{MARKER}{original} bytes to {max}]",
        &text[..cut]
    ))
}

/// The length a marker at the end of `text` names, if it ends with one.
fn marked_len(text: &str) -> Option<usize> {
    let rest = text.strip_suffix(']')?;
    let start = rest.rfind(MARKER)?;
    let (n, _) = rest[start + MARKER.len()..].split_once(" bytes to ")?;
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_cut_on_a_char_boundary_with_its_length() {
        let text = "é".repeat(10); // 20 bytes
        assert_eq!(cap_text(&text, 5), "éé… [truncated 20 bytes to 5]");
        assert_eq!(cap_text("short", 5), "short");
    }

    #[test]
    fn a_text_cut_before_keeps_its_original_length() {
        let once = cap_text(&"e".repeat(1000), 100).into_owned();
        let quoted = format!("gave up: {once}");
        let twice = cap_text(&quoted, 50);
        assert!(twice.ends_with("… [truncated 1000 bytes to 50]"), "{twice}");
        assert!(twice.starts_with("gave up: eee"), "{twice}");
    }
}
