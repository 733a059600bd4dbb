//! The expression grammar: tokens → [`Expr`], with GitHub Actions' precedence
//! (loosest first): `||`, `&&`, `== !=`, `< <= > >=`, `!`, then `.`, `[ ]`,
//! calls and `( )`.

use serde_json::Value as Json;

use super::ParseError;
use super::ast::{BinOp, Expr, ExprKind, path_ref};
use super::lexer::{Tok, Token, lex, unexpected};
use crate::template::TemplateRef;

const VALUE: &str = "expected a value: `null`, `true`, `false`, a number, a `'string'`, a path such as `input.name`, or a function call";
const MAX_DEPTH: usize = 64;

/// Parse the expression `src` (the text between `${{` and `}}`, or a bare
/// `if:`). Byte offsets in the result and in errors are into `src`.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    if p.peek().tok == Tok::End {
        return Err(ParseError::new(0..src.len(), "empty expression", VALUE));
    }
    let expr = p.or()?;
    let t = p.peek();
    if t.tok != Tok::End {
        let mut e = ParseError::new(
            t.start..t.end,
            format!("{} after `{expr}`", unexpected(&t.tok)),
            "expected an operator (`==`, `&&`, `||`, …) or the end of the expression",
        );
        if let (ExprKind::Path(r), Tok::Ident(word)) = (&expr.kind, &t.tok) {
            let joined = |path: &[String]| {
                let mut path = path.to_vec();
                let last = path.pop()?;
                path.push(format!("{last} {word}"));
                Some(path)
            };
            let fixed = match r {
                TemplateRef::Input(path) => joined(path).map(TemplateRef::Input),
                TemplateRef::Step { step, path } => joined(path).map(|path| TemplateRef::Step {
                    step: step.clone(),
                    path,
                }),
                TemplateRef::Status(_) => None,
            };
            if let Some(fixed) = fixed {
                e = e.with_help(format!("to read a key with a space in it, write `{fixed}`"));
            }
        }
        return Err(e);
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Token {
        self.tokens
            .get(self.at)
            .or(self.tokens.last())
            .cloned()
            .unwrap_or(Token {
                tok: Tok::End,
                start: 0,
                end: 0,
            })
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn expect(&mut self, tok: &Tok, expected: &str) -> Result<Token, ParseError> {
        let t = self.peek();
        if &t.tok == tok {
            return Ok(self.bump());
        }
        Err(ParseError::new(
            t.start..t.end.max(t.start + 1),
            unexpected(&t.tok),
            expected,
        ))
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.binary(1)
    }

    fn binary(&mut self, level: u8) -> Result<Expr, ParseError> {
        if level > 4 {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        while let Some(op) = BinOp::from_tok(&self.peek().tok, level) {
            self.bump();
            let rhs = self.binary(level + 1)?;
            let (start, end) = (lhs.start, rhs.end);
            lhs = Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                start,
                end,
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek();
        if t.tok != Tok::Not {
            return self.primary();
        }
        self.bump();
        self.nest(&t)?;
        let inner = self.unary()?;
        self.depth -= 1;
        let end = inner.end;
        Ok(Expr {
            kind: ExprKind::Not(Box::new(inner)),
            start: t.start,
            end,
        })
    }

    fn nest(&mut self, t: &Token) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                t.start..t.end,
                "the expression nests too deeply",
                format!("expected at most {MAX_DEPTH} levels of `(`, `!` and calls"),
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.bump();
        let literal = |v: Json| Expr {
            kind: ExprKind::Literal(v),
            start: t.start,
            end: t.end,
        };
        let expr = match &t.tok {
            Tok::Null => return Ok(literal(Json::Null)),
            Tok::Bool(b) => return Ok(literal(Json::Bool(*b))),
            Tok::Number(n) => return Ok(literal(Json::Number(n.clone()))),
            Tok::Str(s) => return Ok(literal(Json::String(s.clone()))),
            Tok::LParen => {
                self.nest(&t)?;
                let inner = self.or()?;
                let close = self.expect(&Tok::RParen, "expected `)` to close the `(`")?;
                self.depth -= 1;
                Expr {
                    start: t.start,
                    end: close.end,
                    ..inner
                }
            }
            Tok::Ident(name) if self.peek().tok == Tok::LParen => {
                self.bump();
                self.nest(&t)?;
                let args = self.args(name)?;
                self.depth -= 1;
                Expr {
                    kind: ExprKind::Call {
                        name: name.clone(),
                        name_end: t.end,
                        args: args.0,
                    },
                    start: t.start,
                    end: args.1,
                }
            }
            Tok::Ident(root) => return self.path(root, t.start, t.end),
            other => {
                return Err(ParseError::new(
                    t.start..t.end.max(t.start + 1),
                    unexpected(other),
                    VALUE,
                ));
            }
        };
        let (segments, end) = self.segments(expr.end)?;
        Ok(segments.into_iter().fold(expr, |target, key| Expr {
            start: target.start,
            end,
            kind: ExprKind::Index {
                target: Box::new(target),
                key,
            },
        }))
    }

    /// The arguments of a call, after its `(`, and the end of its `)`.
    fn args(&mut self, name: &str) -> Result<(Vec<Expr>, usize), ParseError> {
        let mut args = Vec::new();
        if self.peek().tok == Tok::RParen {
            return Ok((args, self.bump().end));
        }
        loop {
            args.push(self.or()?);
            let t = self.peek();
            match t.tok {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => return Ok((args, self.bump().end)),
                _ => {
                    return Err(ParseError::new(
                        t.start..t.end.max(t.start + 1),
                        match t.tok {
                            Tok::End => format!("the expression ends inside `{name}(`"),
                            _ => format!("{} in the arguments of `{name}()`", unexpected(&t.tok)),
                        },
                        "expected `,` or `)`",
                    ));
                }
            }
        }
    }

    /// `.name` and `[key]` segments, and where the last ends.
    fn segments(&mut self, mut end: usize) -> Result<(Vec<String>, usize), ParseError> {
        let mut segs = Vec::new();
        loop {
            match self.peek().tok {
                Tok::Dot => {
                    self.bump();
                    let t = self.bump();
                    let Tok::Ident(name) = t.tok else {
                        return Err(ParseError::new(
                            t.start..t.end.max(t.start + 1),
                            format!("{} after `.`", unexpected(&t.tok)),
                            "expected a name of letters, digits, `_` or `-`, e.g. `items.0`",
                        ));
                    };
                    segs.push(name);
                    end = t.end;
                }
                Tok::LBracket => {
                    self.bump();
                    let t = self.bump();
                    let key = match &t.tok {
                        Tok::Str(s) => s.clone(),
                        Tok::Number(n) if n.is_u64() => n.to_string(),
                        other => {
                            return Err(ParseError::new(
                                t.start..t.end.max(t.start + 1),
                                format!("{} in `[ ]`", unexpected(other)),
                                "expected a `'key'` or an index such as `0`",
                            ));
                        }
                    };
                    end = self.expect(&Tok::RBracket, "expected `]`")?.end;
                    segs.push(key);
                }
                _ => return Ok((segs, end)),
            }
        }
    }

    fn path(&mut self, root: &str, start: usize, end: usize) -> Result<Expr, ParseError> {
        let (segs, end) = self.segments(end)?;
        let r = path_ref(root, &segs, start..end)?;
        Ok(Expr {
            kind: ExprKind::Path(r),
            start,
            end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(src: &str) -> String {
        parse(src).unwrap().to_string()
    }

    #[test]
    fn precedence_follows_github_actions() {
        let e = parse("input.a || input.b && !input.c == 1 < 2").unwrap();
        let ExprKind::Binary {
            op: BinOp::Or, rhs, ..
        } = &e.kind
        else {
            panic!("{e:?}")
        };
        let ExprKind::Binary {
            op: BinOp::And,
            rhs,
            ..
        } = &rhs.kind
        else {
            panic!("{rhs:?}")
        };
        let ExprKind::Binary {
            op: BinOp::Eq,
            lhs,
            rhs,
            ..
        } = &rhs.kind
        else {
            panic!("{rhs:?}")
        };
        assert!(matches!(lhs.kind, ExprKind::Not(_)));
        assert!(matches!(rhs.kind, ExprKind::Binary { op: BinOp::Lt, .. }));
        assert_eq!(
            shown("(input.a || input.b) && input.c"),
            "(input.a || input.b) && input.c"
        );
        assert_eq!(shown("input.a == 1 != true"), "input.a == 1 != true");
        assert_eq!(shown("!(input.a && null)"), "!(input.a && null)");
    }

    #[test]
    fn paths_and_calls() {
        let e = parse("steps.fetch.output.items[0]['odd key'].x").unwrap();
        assert_eq!(
            e.kind,
            ExprKind::Path(TemplateRef::Step {
                step: "fetch".into(),
                path: vec!["items".into(), "0".into(), "odd key".into(), "x".into()]
            })
        );
        assert_eq!(e.to_string(), "steps.fetch.output.items.0['odd key'].x");
        assert_eq!(
            parse("steps.a.status").unwrap().kind,
            ExprKind::Path(TemplateRef::Status("a".into()))
        );
        assert_eq!(
            shown("format('{0}''s', input.n, 2.5)"),
            "format('{0}''s', input.n, 2.5)"
        );
        assert_eq!(
            shown("fromJSON(input.raw).a[1]"),
            "fromJSON(input.raw)['a'][1]"
        );
        assert_eq!(shown("always()"), "always()");
        let e = parse(" input.x ").unwrap();
        assert_eq!((e.start, e.end), (1, 8));
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        let e = parse("input.a ==").unwrap_err();
        assert_eq!(
            (e.start, e.message.as_str()),
            (10, "the expression ends too soon")
        );
        assert!(e.expected.starts_with("expected a value"));
        let e = parse("input.first name").unwrap_err();
        assert_eq!((e.start, e.end), (12, 16));
        assert_eq!(
            e.help.as_deref(),
            Some("to read a key with a space in it, write `input['first name']`")
        );
        let e = parse("(input.a").unwrap_err();
        assert_eq!(
            (e.start, e.expected.as_str()),
            (8, "expected `)` to close the `(`")
        );
        let e = parse("contains(input.a input.b)").unwrap_err();
        assert_eq!((e.start, e.expected.as_str()), (17, "expected `,` or `)`"));
        let e = parse("inputs.x == 1").unwrap_err();
        assert_eq!((e.start, e.end), (0, 8));
        assert_eq!(e.help.as_deref(), Some("did you mean `input`?"));
        let e = parse("1 == steps.a.result").unwrap_err();
        assert_eq!((e.start, e.message.as_str()), (5, "a step has no `result`"));
        assert!(parse("steps.a.status.x").is_err());
        assert!(parse("steps.a").is_err());
        assert!(parse("input[true]").is_err());
        assert!(parse("input.").is_err());
        assert_eq!(parse("   ").unwrap_err().message, "empty expression");
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(
            parse(&deep)
                .unwrap_err()
                .message
                .contains("nests too deeply")
        );
    }
}
