//! `tenants:` and `auth:` in `weft.yaml`: who may call the daemon's API, as the
//! SHA-256 hashes of their bearer tokens (a token itself is never written down).
//!
//! ```yaml
//! tenants:
//!   acme:
//!     tokens:
//!       - { name: ci, sha256: "<64 lowercase hex chars>" }
//! auth:
//!   admin_tokens:  [ { name: ops, sha256: "..." } ]
//!   worker_tokens: [ { name: k8s-workers, sha256: "..." } ]
//! ```

use std::collections::BTreeMap;

use weft_core::Money;

use crate::capabilities::{
    Capabilities, OnBudgetExceeded, decode_budget, decode_capabilities, decode_on_exceeded,
};
use crate::decode::Ctx;
use crate::diagnostic::Location;
use crate::project::ProjectConfig;
use crate::yaml::{self, Pos, location};

const TENANT_KEYS: &[&str] = &[
    "tokens",
    "capabilities",
    "budget_usd_daily",
    "on_budget_exceeded",
];
const AUTH_KEYS: &[&str] = &["admin_tokens", "worker_tokens"];
const TOKEN_KEYS: &[&str] = &["name", "sha256"];

/// Longest tenant name.
pub const MAX_TENANT_NAME: usize = 64;

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

/// A tenant: the owner of the runs its tokens submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDecl {
    /// Its name (`[a-z0-9-]`), stored on each of its runs.
    pub name: String,
    /// The tokens that act for it.
    pub tokens: Vec<TokenDecl>,
    /// What its runs may use; `None`: everything.
    pub capabilities: Option<Capabilities>,
    /// Its daily budget (UTC days); `None`: no budget.
    pub budget_daily: Option<Money>,
    /// What a model call that would overspend does to its step.
    pub on_budget_exceeded: OnBudgetExceeded,
    /// Where the tenant is declared.
    pub location: Location,
}

/// `auth:`: the tokens that act for no tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthDecl {
    /// Tokens that may use every endpoint and see every tenant's runs.
    pub admin_tokens: Vec<TokenDecl>,
    /// Tokens of remote workers: only the worker endpoints.
    pub worker_tokens: Vec<TokenDecl>,
}

/// Checks a tenant name: 1 to [`MAX_TENANT_NAME`] characters of `a-z`, `0-9`
/// and `-`, starting with a letter or a digit.
pub fn check_tenant_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.chars().count() > MAX_TENANT_NAME {
        return Err(format!("it is longer than {MAX_TENANT_NAME} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if name.starts_with('-') {
        return Err("it must start with a letter or a digit".to_owned());
    }
    Ok(())
}

/// Decodes `tenants:`.
pub(crate) fn decode_tenants(
    ctx: &mut Ctx<'_>,
    project: &ProjectConfig,
    node: &yaml::Node,
    seen: &mut SeenHashes,
) -> BTreeMap<String, TenantDecl> {
    let mut tenants = BTreeMap::new();
    for (key, value) in ctx.entries(node, "tenants").unwrap_or_default() {
        if let Err(why) = check_tenant_name(&key.name) {
            let d = ctx
                .at(key.pos, format!("invalid tenant name `{}`: {why}", key.name))
                .expected(format!(
                    "expected lowercase letters, digits and `-`, at most {MAX_TENANT_NAME} characters"
                ));
            ctx.push(d);
        }
        let path = format!("tenants.{}", key.name);
        let Some(fields) = ctx.map(value, &path, TENANT_KEYS, key.pos) else {
            continue;
        };
        let tokens = match fields.get("tokens") {
            Some(n) => decode_tokens(ctx, n, &fields.child("tokens"), seen),
            None => Vec::new(),
        };
        let capabilities = fields.entry("capabilities").and_then(|(k, n)| {
            decode_capabilities(ctx, project, n, &fields.child("capabilities"), k.pos)
        });
        let budget_daily = fields
            .get("budget_usd_daily")
            .and_then(|n| decode_budget(ctx, n, &fields.child("budget_usd_daily")));
        let on_budget_exceeded = fields
            .get("on_budget_exceeded")
            .and_then(|n| decode_on_exceeded(ctx, n, &fields.child("on_budget_exceeded")))
            .unwrap_or_default();
        tenants.insert(
            key.name.clone(),
            TenantDecl {
                name: key.name.clone(),
                tokens,
                capabilities,
                budget_daily,
                on_budget_exceeded,
                location: location(ctx.file, key.pos),
            },
        );
    }
    tenants
}

/// Decodes `auth:`.
pub(crate) fn decode_auth(
    ctx: &mut Ctx<'_>,
    key_pos: Pos,
    node: &yaml::Node,
    seen: &mut SeenHashes,
) -> AuthDecl {
    let mut auth = AuthDecl::default();
    let Some(fields) = ctx.map(node, "auth", AUTH_KEYS, key_pos) else {
        return auth;
    };
    if let Some(n) = fields.get("admin_tokens") {
        auth.admin_tokens = decode_tokens(ctx, n, &fields.child("admin_tokens"), seen);
    }
    if let Some(n) = fields.get("worker_tokens") {
        auth.worker_tokens = decode_tokens(ctx, n, &fields.child("worker_tokens"), seen);
    }
    auth
}

/// The token hashes decoded so far, and which list entry each belongs to, so
/// that a hash used twice anywhere in the file is reported.
#[derive(Default)]
pub(crate) struct SeenHashes(BTreeMap<[u8; 32], (String, Location)>);

/// A list of `{ name, sha256 }` entries at `path`; names must be unique in it.
fn decode_tokens(
    ctx: &mut Ctx<'_>,
    node: &yaml::Node,
    path: &str,
    seen: &mut SeenHashes,
) -> Vec<TokenDecl> {
    let items: &[yaml::Node] = match &node.value {
        yaml::Value::Seq(items) => items,
        yaml::Value::Null => &[],
        _ => {
            ctx.wrong_type(node, path, "a list of `{ name, sha256 }` entries");
            return Vec::new();
        }
    };
    let mut tokens: Vec<TokenDecl> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some(fields) = ctx.map(item, &item_path, TOKEN_KEYS, item.pos) else {
            continue;
        };
        let name = ctx.required(&fields, "name", "a name for the token, e.g. `ci`");
        let name = name.and_then(|n| ctx.name(n, &fields.child("name"), 64));
        let hash = ctx.required(&fields, "sha256", "the SHA-256 of the token, in hex");
        let hash = hash.and_then(|n| sha256(ctx, n, &fields.child("sha256")));
        let (Some(name), Some(hash)) = (name, hash) else {
            continue;
        };
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
        let here = location(ctx.file, item.pos);
        let owner = format!("`{}` in `{path}`", name.value);
        if let Some((other, at)) = seen.0.get(&hash.value) {
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
        seen.0.insert(hash.value, (owner, here.clone()));
        tokens.push(TokenDecl {
            name: name.value,
            sha256: hash.value,
            location: here,
        });
    }
    tokens
}

/// A `sha256:` value: 64 lowercase hex characters.
fn sha256(ctx: &mut Ctx<'_>, node: &yaml::Node, path: &str) -> Option<crate::Spanned<[u8; 32]>> {
    let s = ctx.string(node, path)?;
    match parse_sha256(&s.value) {
        Ok(bytes) => Some(crate::Spanned {
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

    #[test]
    fn tenant_names_are_lowercase_letters_digits_and_dashes() {
        assert!(check_tenant_name("acme-2").is_ok());
        assert!(check_tenant_name("Acme").is_err());
        assert!(check_tenant_name("acme_corp").is_err());
        assert!(check_tenant_name("-acme").is_err());
        assert!(check_tenant_name("").is_err());
    }
}
