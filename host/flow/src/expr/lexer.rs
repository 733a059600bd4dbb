//! The expression lexer: source text → tokens, each with its byte range.

use std::fmt;

use super::ParseError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as JSON.
    Number(serde_json::Number),
    /// A `'…'` string, unescaped.
    Str(String),
    /// A name: a root (`input`, `steps`), a path segment or a function.
    Ident(String),
    /// `.`
    Dot,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Not,
    /// The end of the expression.
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("`null`"),
            Self::Bool(b) => write!(f, "`{b}`"),
            Self::Number(n) => write!(f, "`{n}`"),
            Self::Str(s) => write!(f, "the string `'{}'`", s.replace('\'', "''")),
            Self::Ident(s) => write!(f, "`{s}`"),
            Self::End => f.write_str("the end of the expression"),
            other => write!(f, "`{}`", other.symbol()),
        }
    }
}

impl Tok {
    fn symbol(&self) -> &'static str {
        match self {
            Self::Dot => ".",
            Self::LBracket => "[",
            Self::RBracket => "]",
            Self::LParen => "(",
            Self::RParen => ")",
            Self::Comma => ",",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::And => "&&",
            Self::Or => "||",
            Self::Not => "!",
            _ => "",
        }
    }
}

/// A token and the byte range it covers in the expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// What it is.
    pub tok: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

/// "unexpected `x`", or that the expression ends too soon.
pub(crate) fn unexpected(tok: &Tok) -> String {
    match tok {
        Tok::End => "the expression ends too soon".to_owned(),
        other => format!("unexpected {other}"),
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Split `src` into tokens, ending with [`Tok::End`]. After a `.`, a path
/// segment may start with a digit (`items.0`).
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let after_dot = tokens.last().is_some_and(|t| t.tok == Tok::Dot);
        let tok = if after_dot && is_ident_char(c) {
            let end = take_while(&mut chars, is_ident_char);
            Tok::Ident(src[start..end].to_owned())
        } else if is_ident_start(c) {
            let end = take_while(&mut chars, is_ident_char);
            match &src[start..end] {
                "null" => Tok::Null,
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                word => Tok::Ident(word.to_owned()),
            }
        } else if c.is_ascii_digit() || (c == '-' && next_is_digit(src, start)) {
            lex_number(src, start, &mut chars)?
        } else if c == '\'' {
            lex_string(src, start, &mut chars)?
        } else {
            chars.next();
            let next = chars.peek().map(|&(_, n)| n);
            let two = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, t: Tok| {
                chars.next();
                t
            };
            match (c, next) {
                ('=', Some('=')) => two(&mut chars, Tok::Eq),
                ('!', Some('=')) => two(&mut chars, Tok::Ne),
                ('<', Some('=')) => two(&mut chars, Tok::Le),
                ('>', Some('=')) => two(&mut chars, Tok::Ge),
                ('&', Some('&')) => two(&mut chars, Tok::And),
                ('|', Some('|')) => two(&mut chars, Tok::Or),
                ('<', _) => Tok::Lt,
                ('>', _) => Tok::Gt,
                ('!', _) => Tok::Not,
                ('.', _) => Tok::Dot,
                ('[', _) => Tok::LBracket,
                (']', _) => Tok::RBracket,
                ('(', _) => Tok::LParen,
                (')', _) => Tok::RParen,
                (',', _) => Tok::Comma,
                _ => return Err(bad_char(src, start, c)),
            }
        };
        let end = chars.peek().map_or(src.len(), |&(i, _)| i);
        tokens.push(Token { tok, start, end });
    }
    tokens.push(Token {
        tok: Tok::End,
        start: src.len(),
        end: src.len(),
    });
    Ok(tokens)
}

type Chars<'s> = std::iter::Peekable<std::str::CharIndices<'s>>;

fn take_while(chars: &mut Chars<'_>, keep: impl Fn(char) -> bool) -> usize {
    let mut end = 0;
    while let Some(&(i, c)) = chars.peek() {
        if !keep(c) {
            return i;
        }
        end = i + c.len_utf8();
        chars.next();
    }
    end
}

fn next_is_digit(src: &str, at: usize) -> bool {
    src.get(at + 1..)
        .and_then(|s| s.chars().next())
        .is_some_and(|c| c.is_ascii_digit())
}

fn lex_number(src: &str, start: usize, chars: &mut Chars<'_>) -> Result<Tok, ParseError> {
    chars.next(); // the first digit or `-`
    let mut end = take_while(chars, |c| c.is_ascii_digit()).max(start + 1);
    let mut decimal = false;
    if chars.peek().is_some_and(|&(_, c)| c == '.') && next_is_digit(src, end) {
        chars.next();
        end = take_while(chars, |c| c.is_ascii_digit());
        decimal = true;
    }
    let text = &src[start..end];
    if let Some(&(i, c)) = chars.peek()
        && is_ident_char(c)
    {
        let stop = take_while(chars, is_ident_char);
        return Err(ParseError::new(
            start..stop.max(i + 1),
            format!("`{}` is not a number", &src[start..stop.max(i + 1)]),
            "expected digits, with an optional `.` and decimals, e.g. `3` or `2.5`",
        ));
    }
    let number = if decimal {
        None
    } else {
        text.parse::<i64>().ok().map(serde_json::Number::from)
    };
    let number = number.or_else(|| {
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    });
    number.map(Tok::Number).ok_or_else(|| {
        ParseError::new(
            start..end,
            format!("`{text}` is not a number"),
            "expected a finite number",
        )
    })
}

fn lex_string(src: &str, start: usize, chars: &mut Chars<'_>) -> Result<Tok, ParseError> {
    chars.next(); // the opening quote
    let mut text = String::new();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                chars.next();
                text.push('\'');
            } else {
                let _ = i;
                return Ok(Tok::Str(text));
            }
        } else {
            text.push(c);
        }
    }
    Err(ParseError::new(
        start..src.len(),
        "unclosed string".to_owned(),
        "expected a `'` at the end of the string",
    )
    .with_help("write a quote inside a string as `''`, e.g. `'it''s'`"))
}

fn bad_char(src: &str, start: usize, c: char) -> ParseError {
    let end = start + c.len_utf8();
    let (expected, help) = match c {
        '"' => (
            "expected a string in single quotes",
            Some("write strings as `'text'`, not `\"text\"`"),
        ),
        '=' => ("expected `==` to compare", None),
        '&' => ("expected `&&`", None),
        '|' => ("expected `||`", None),
        _ => (
            "expected a value, a path, a function call or an operator",
            None,
        ),
    };
    let e = ParseError::new(
        start..end.min(src.len()),
        format!("unexpected character `{c}`"),
        expected,
    );
    match help {
        Some(h) => e.with_help(h),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_every_token() {
        assert_eq!(
            toks("a.b-c.0 [ 'x' ] ( , ) == != < <= > >= && || ! null true false"),
            vec![
                Tok::Ident("a".into()),
                Tok::Dot,
                Tok::Ident("b-c".into()),
                Tok::Dot,
                Tok::Ident("0".into()),
                Tok::LBracket,
                Tok::Str("x".into()),
                Tok::RBracket,
                Tok::LParen,
                Tok::Comma,
                Tok::RParen,
                Tok::Eq,
                Tok::Ne,
                Tok::Lt,
                Tok::Le,
                Tok::Gt,
                Tok::Ge,
                Tok::And,
                Tok::Or,
                Tok::Not,
                Tok::Null,
                Tok::Bool(true),
                Tok::Bool(false),
                Tok::End,
            ]
        );
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(
            toks("3 -2 2.5 'it''s'"),
            vec![
                Tok::Number(3.into()),
                Tok::Number((-2).into()),
                Tok::Number(serde_json::Number::from_f64(2.5).unwrap()),
                Tok::Str("it's".into()),
                Tok::End,
            ]
        );
        let t = lex("  'ab'  ").unwrap();
        assert_eq!((t[0].start, t[0].end), (2, 6));
    }

    #[test]
    fn errors_have_offsets() {
        let e = lex("a == 'open").unwrap_err();
        assert_eq!((e.start, e.message.as_str()), (5, "unclosed string"));
        let e = lex("a = b").unwrap_err();
        assert_eq!(e.start, 2);
        assert!(e.expected.contains("=="), "{e:?}");
        let e = lex("a == \"x\"").unwrap_err();
        assert_eq!(e.start, 5);
        let e = lex("1x").unwrap_err();
        assert_eq!((e.start, e.end), (0, 2));
    }
}
