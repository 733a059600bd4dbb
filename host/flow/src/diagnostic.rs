//! Errors that point at a place in a file: [`Diagnostic`] and a list of them,
//! [`Diagnostics`].
//!
//! A diagnostic prints like rustc's:
//!
//! ```text
//! error: unknown key `neds` in step `classify`
//!   --> flows/triage.yaml:12:5
//!    |
//! 12 |     neds: [fetch]
//!    |     ^^^^ expected one of uses, with, needs, if, timeout, retry, pool, model
//!    |
//!    = help: did you mean `needs`?
//! ```

use std::fmt;

/// A place in a source file: 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file as the user named it, e.g. `flows/triage.yaml`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One error in a flow file or in `weft.yaml`, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the error is in.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, e.g. "unknown key `neds` in step `classify`".
    pub message: String,
    /// What was expected at this place, printed under the marked source.
    pub expected: Option<String>,
    /// A hint, e.g. "did you mean `needs`?".
    pub help: Option<String>,
    /// The source line the error is on, when known (filled in by [`Diagnostics`]).
    pub source_line: Option<String>,
    /// How many characters to underline, at least 1.
    pub width: usize,
}

impl Diagnostic {
    /// A diagnostic at `location` with `message`.
    pub fn new(location: &Location, message: impl Into<String>) -> Self {
        Self {
            file: location.file.clone(),
            line: location.line,
            column: location.column,
            message: message.into(),
            expected: None,
            help: None,
            source_line: None,
            width: 1,
        }
    }

    /// Add what was expected.
    #[must_use]
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Add a hint.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Add a hint if there is one.
    #[must_use]
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Underline `width` characters.
    #[must_use]
    pub fn width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }

    /// The class of this error, a stable short code for tools (`weft
    /// validate --json`): `yaml`, `unknown-key`, `missing-key`, `wrong-type`,
    /// `invalid-name`, `duplicate`, `needs`, `cycle`, `template` (also for a
    /// step's `if:`, which is in the same language), `plugin`,
    /// `model`, `pool`, `duration`, `schedule`, `input`, or `invalid-value`
    /// for any other value that is not accepted. Derived from the message, so
    /// every diagnostic has one.
    pub fn code(&self) -> &'static str {
        let m = self.message.as_str();
        let starts = |p: &str| m.starts_with(p);
        let has = |p: &str| m.contains(p);
        if starts("invalid YAML")
            || has("YAML document")
            || has("mapping key that is not a string")
            || has("YAML cannot resolve")
            || has("not finite")
        {
            "yaml"
        } else if starts("unknown key") {
            "unknown-key"
        } else if starts("missing key") {
            "missing-key"
        } else if starts("wrong type") {
            "wrong-type"
        } else if starts("steps form a cycle") {
            "cycle"
        } else if starts("invalid template")
            || has("${{")
            || has("`if:")
            || starts("invalid condition")
            || starts("empty condition")
        {
            "template"
        } else if has("needs unknown step") || (starts("step `") && has("twice")) {
            "needs"
        } else if has("used twice") || has("is already used by") || has("same sha256") {
            "duplicate"
        } else if starts("cron line") || starts("invalid cron") || starts("unknown time zone") {
            "schedule"
        } else if has("duration") {
            "duration"
        } else if starts("plugin `") || starts("unknown plugin") || has("plugin path") {
            "plugin"
        } else if starts("unknown model") || has("not a model") {
            "model"
        } else if starts("unknown pool") {
            "pool"
        } else if starts("invalid") && (has(" name `") || has(" id `") || has("invalid name")) {
            "invalid-name"
        } else if has("input") {
            "input"
        } else {
            "invalid-value"
        }
    }

    /// The place this diagnostic points at.
    pub fn location(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
        }
    }
}

impl Diagnostic {
    /// The diagnostic as a warning: like its `Display`, headed `warning:`.
    pub fn warning_text(&self) -> String {
        let text = self.to_string();
        match text.strip_prefix("error: ") {
            Some(rest) => format!("warning: {rest}"),
            None => text,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let gutter = " ".repeat(self.line.to_string().len());
        write!(f, "{gutter}--> {}:{}:{}", self.file, self.line, self.column)?;
        if let Some(text) = &self.source_line {
            let pad = " ".repeat(self.column.saturating_sub(1));
            let marks = "^".repeat(self.width);
            write!(
                f,
                "\n{gutter} |\n{} | {text}\n{gutter} | {pad}{marks}",
                self.line
            )?;
            if let Some(expected) = &self.expected {
                write!(f, " {expected}")?;
            }
        } else if let Some(expected) = &self.expected {
            write!(f, "\n{gutter} = expected: {expected}")?;
        }
        if let Some(help) = &self.help {
            if self.source_line.is_some() {
                write!(f, "\n{gutter} |")?;
            }
            write!(f, "\n{gutter} = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Every error found in one or more files, in the order of the source.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one error.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many errors were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The errors, in source order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Add every error of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Sort by file, line and column, drop exact duplicates, and attach the source
    /// line of each error that is in `file` (whose text is `source`).
    pub(crate) fn finish(&mut self, file: &str, source: &str) {
        let lines: Vec<&str> = source.lines().collect();
        for d in &mut self.0 {
            if d.file == file && d.source_line.is_none() {
                d.source_line = d
                    .line
                    .checked_sub(1)
                    .and_then(|i| lines.get(i))
                    .map(|l| l.trim_end().to_owned());
            }
        }
        self.0.sort_by(|a, b| {
            (&a.file, a.line, a.column, &a.message).cmp(&(&b.file, b.line, b.column, &b.message))
        });
        self.0.dedup();
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n\nerror: {} errors found", self.0.len())?;
        }
        Ok(())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod code_tests {
    use super::{Diagnostic, Location};

    fn code(message: &str) -> &'static str {
        let at = Location {
            file: "f.yaml".into(),
            line: 1,
            column: 1,
        };
        Diagnostic::new(&at, message).code()
    }

    #[test]
    fn each_class_of_error_has_its_code() {
        assert_eq!(code("invalid YAML: did not find expected key"), "yaml");
        assert_eq!(
            code("unknown key `neds` in `steps.classify`"),
            "unknown-key"
        );
        assert_eq!(code("missing key `uses` in `steps.fetch`"), "missing-key");
        assert_eq!(
            code("wrong type for `steps.a.needs`: found an integer"),
            "wrong-type"
        );
        assert_eq!(code("steps form a cycle: a → b → a"), "cycle");
        assert_eq!(code("step `b` needs unknown step `x`"), "needs");
        assert_eq!(code("step `b` needs `a` twice"), "needs");
        assert_eq!(
            code("unknown step `x` in `${{ steps.x.output }}`"),
            "template"
        );
        assert_eq!(
            code("the `if:` of step `b` reads the status of `a`, which it does not need"),
            "template"
        );
        assert_eq!(
            code("invalid condition `if: a =`: unexpected `=`"),
            "template"
        );
        assert_eq!(code("flow id `f` is used twice"), "duplicate");
        assert_eq!(code("invalid cron line `x`: bad"), "schedule");
        assert_eq!(
            code("invalid duration `5 parsecs` for `timeout`: unknown unit"),
            "duration"
        );
        assert_eq!(code("unknown plugin `ecco` for `uses`"), "plugin");
        assert_eq!(code("plugin `backoff` is a step plugin, but …"), "plugin");
        assert_eq!(code("unknown model `mokc`"), "model");
        assert_eq!(code("unknown pool `gpu`"), "pool");
        assert_eq!(
            code("invalid step id `Fetch`: `F` is uppercase"),
            "invalid-name"
        );
        assert_eq!(code("missing required input `n`"), "input");
        assert_eq!(code("negative price for `mock`"), "invalid-value");
    }
}

/// "did you mean `x`?" for the candidate closest to `given`, if one is close enough.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(given, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate closest to `given` by edit distance, if one is close enough to be
/// a likely typo.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != given)
        .map(|c| {
            let score = strsim::normalized_damerau_levenshtein(&given_lower, &c.to_lowercase());
            (c, score)
        })
        .filter(|(_, score)| *score >= 0.6)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

/// `a, b or c` for messages.
pub fn one_of<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| s.as_ref().to_owned()).collect();
    match quoted.as_slice() {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest("neds", ["uses", "needs", "with"]), Some("needs"));
        assert_eq!(closest("zzzz", ["uses", "needs"]), None);
        assert_eq!(one_of(&["a", "b", "c"]), "a, b or c");
    }
}
