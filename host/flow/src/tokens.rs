//! API tokens in `weft.yaml` (`tenants.<t>.tokens`, `auth.admin_tokens`,
//! `auth.worker_tokens`): lists of `{ name, sha256 }`, decoded here as written
//! ([`AuthoredToken`]), then admitted by [`SeenTokens`]: a name once in its
//! list, a hash once in the whole file.

use std::collections::BTreeMap;

use crate::decode::{Ctx, Spanned};
use crate::diagnostic::Location;
use crate::yaml::{self, Pos, location};

const TOKEN_KEYS: &[&str] = &["name", "sha256"];

/// One API token as `weft.yaml` declares it: a name for people and logs, and the
/// SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDecl {
    /// Its name, unique in its list (e.g. `ci`).
    pub name: String,
    /// SHA-256 of the bearer token.
    pub sha256: [u8; 32],
    /// Where the entry is written.
    pub location: Location,
}

/// A token entry whose name and hash are well formed, not yet checked for
/// being unique.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuthoredToken {
    /// `name:`.
    pub name: Spanned<String>,
    /// `sha256:`.
    pub hash: Spanned<[u8; 32]>,
    /// Where the entry is.
    pub pos: Pos,
}

/// A token list as written, and its dotted path (e.g. `tenants.acme.tokens`).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct AuthoredTokens {
    /// The path of the list, as named in messages.
    pub path: String,
    /// Its well-formed entries, in file order.
    pub items: Vec<AuthoredToken>,
}

/// A list of `{ name, sha256 }` entries at `path`.
pub(crate) fn decode_tokens(ctx: &mut Ctx<'_>, node: &yaml::Node, path: &str) -> AuthoredTokens {
    let mut out = AuthoredTokens {
        path: path.to_owned(),
        items: Vec::new(),
    };
    let items: &[yaml::Node] = match &node.value {
        yaml::Value::Seq(items) => items,
        yaml::Value::Null => &[],
        _ => {
            ctx.wrong_type(node, path, "a list of `{ name, sha256 }` entries");
            return out;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some(fields) = ctx.map(item, &item_path, TOKEN_KEYS, item.pos) else {
            continue;
        };
        let name = ctx.required(&fields, "name", "a name for the token, e.g. `ci`");
        let name = name.and_then(|n| ctx.name(n, &fields.child("name"), 64));
        let hash = ctx.required(&fields, "sha256", "the SHA-256 of the token, in hex");
        let hash = hash.and_then(|n| sha256(ctx, n, &fields.child("sha256")));
        if let (Some(name), Some(hash)) = (name, hash) {
            out.items.push(AuthoredToken {
                name,
                hash,
                pos: item.pos,
            });
        }
    }
    out
}

/// The token hashes admitted so far, and which list entry each belongs to, so
/// that a hash used twice anywhere in the file is reported.
#[derive(Default)]
pub(crate) struct SeenTokens(BTreeMap<[u8; 32], (String, Location)>);

impl SeenTokens {
    /// The tokens of `list` whose name is new in the list and whose hash is new
    /// in the file; the others are reported and left out.
    pub fn admit(&mut self, ctx: &mut Ctx<'_>, list: AuthoredTokens) -> Vec<TokenDecl> {
        let path = list.path;
        let mut tokens: Vec<TokenDecl> = Vec::new();
        for AuthoredToken { name, hash, pos } in list.items {
            if let Some(first) = tokens.iter().find(|t| t.name == name.value) {
                let d = ctx
                    .at(
                        name.pos,
                        format!("token name `{}` used twice in `{path}`", name.value),
                    )
                    .expected("expected a name unique in its list")
                    .help(format!(
                        "the first `{}` is at {}",
                        name.value, first.location
                    ));
                ctx.push(d);
                continue;
            }
            let here = location(ctx.file, pos);
            let owner = format!("`{}` in `{path}`", name.value);
            if let Some((other, at)) = self.0.get(&hash.value) {
                let d = ctx
                    .at(
                        hash.pos,
                        format!("token {owner} has the same sha256 as token {other}"),
                    )
                    .expected("expected each token hash once in weft.yaml")
                    .help(format!(
                        "a token must name one caller; {other} is at {at}; make another token with `weft token new`"
                    ));
                ctx.push(d);
                continue;
            }
            self.0.insert(hash.value, (owner, here.clone()));
            tokens.push(TokenDecl {
                name: name.value,
                sha256: hash.value,
                location: here,
            });
        }
        tokens
    }
}

/// A `sha256:` value: 64 lowercase hex characters.
fn sha256(ctx: &mut Ctx<'_>, node: &yaml::Node, path: &str) -> Option<Spanned<[u8; 32]>> {
    let s = ctx.string(node, path)?;
    match parse_sha256(&s.value) {
        Ok(bytes) => Some(Spanned {
            value: bytes,
            pos: s.pos,
        }),
        Err(why) => {
            let help = if s.value.starts_with("weft_") {
                "this looks like the token itself: write its SHA-256 here (`weft token new` prints both) and keep the token out of weft.yaml"
            } else if parse_sha256(&s.value.to_ascii_lowercase()).is_ok() {
                "write the hash in lowercase"
            } else {
                "`weft token new` prints a token and its hash; `printf %s TOKEN | sha256sum` computes one"
            };
            let d = ctx
                .at(s.pos, format!("invalid `{path}`: {why}"))
                .expected("expected 64 lowercase hex characters (a SHA-256)")
                .help(help);
            ctx.push(d);
            None
        }
    }
}

/// 64 lowercase hex characters as 32 bytes.
fn parse_sha256(text: &str) -> Result<[u8; 32], String> {
    let n = text.chars().count();
    if n != 64 {
        return Err(format!("it has {n} characters"));
    }
    if let Some(c) = text.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(if c.is_ascii_hexdigit() {
            format!("`{c}` is uppercase")
        } else {
            format!("`{c}` is not a hex digit")
        });
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = text.get(2 * i..2 * i + 2).unwrap_or_default();
        *byte = u8::from_str_radix(pair, 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_as_lowercase_hex_only() {
        let ok = "ab".repeat(32);
        assert_eq!(parse_sha256(&ok).unwrap(), [0xab; 32]);
        assert!(
            parse_sha256(&"AB".repeat(32))
                .unwrap_err()
                .contains("uppercase")
        );
        assert!(parse_sha256("abc").unwrap_err().contains("3 characters"));
        assert!(
            parse_sha256(&"zz".repeat(32))
                .unwrap_err()
                .contains("not a hex")
        );
    }
}
