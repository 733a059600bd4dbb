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
//!
//! Decoded here as written (`AuthoredTenant`, `AuthoredAuth`); the names
//! in capabilities and the tokens' uniqueness are checked by the validation of
//! `weft.yaml` (`project_validate`).

use weft_core::Money;

use crate::capabilities::{
    AuthoredCapabilities, Capabilities, OnBudgetExceeded, decode_budget, decode_capabilities,
    decode_on_exceeded,
};
use crate::decode::Ctx;
use crate::diagnostic::Location;
use crate::tokens::{AuthoredTokens, decode_tokens};
use crate::yaml::{self, Pos};

pub use crate::tokens::TokenDecl;

const TENANT_KEYS: &[&str] = &[
    "tokens",
    "capabilities",
    "budget_usd_daily",
    "on_budget_exceeded",
];
const AUTH_KEYS: &[&str] = &["admin_tokens", "worker_tokens"];

/// Longest tenant name.
pub const MAX_TENANT_NAME: usize = 64;

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

/// A tenant as written: its capabilities and tokens not yet checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuthoredTenant {
    /// Its name.
    pub name: String,
    /// Where its name is written.
    pub pos: Pos,
    /// `tokens:`.
    pub tokens: AuthoredTokens,
    /// `capabilities:`.
    pub capabilities: Option<AuthoredCapabilities>,
    /// `budget_usd_daily:`.
    pub budget_daily: Option<Money>,
    /// `on_budget_exceeded:` (default `fail`).
    pub on_budget_exceeded: OnBudgetExceeded,
}

/// `auth:` as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct AuthoredAuth {
    /// `admin_tokens:`.
    pub admin_tokens: Option<AuthoredTokens>,
    /// `worker_tokens:`.
    pub worker_tokens: Option<AuthoredTokens>,
}

/// Decodes `tenants:`, in file order; a tenant that is not a mapping is
/// reported and left out.
pub(crate) fn decode_tenants(ctx: &mut Ctx<'_>, node: &yaml::Node) -> Vec<AuthoredTenant> {
    ctx.decode_entries(node, "tenants", decode_tenant)
}

fn decode_tenant(ctx: &mut Ctx<'_>, key: &yaml::Key, value: &yaml::Node) -> Option<AuthoredTenant> {
    if let Err(why) = check_tenant_name(&key.name) {
        let d = ctx
            .at(
                key.pos,
                format!("invalid tenant name `{}`: {why}", key.name),
            )
            .expected(format!(
                "expected lowercase letters, digits and `-`, at most {MAX_TENANT_NAME} characters"
            ));
        ctx.push(d);
    }
    let path = format!("tenants.{}", key.name);
    let fields = ctx.map(value, &path, TENANT_KEYS, key.pos)?;
    let tokens_path = fields.child("tokens");
    let tokens = match fields.get("tokens") {
        Some(n) => decode_tokens(ctx, n, &tokens_path),
        None => AuthoredTokens {
            path: tokens_path,
            items: Vec::new(),
        },
    };
    let capabilities = fields
        .entry("capabilities")
        .and_then(|(k, n)| decode_capabilities(ctx, n, &fields.child("capabilities"), k.pos));
    let budget_daily = fields
        .get("budget_usd_daily")
        .and_then(|n| decode_budget(ctx, n, &fields.child("budget_usd_daily")));
    let on_budget_exceeded = fields
        .get("on_budget_exceeded")
        .and_then(|n| decode_on_exceeded(ctx, n, &fields.child("on_budget_exceeded")))
        .unwrap_or_default();
    Some(AuthoredTenant {
        name: key.name.clone(),
        pos: key.pos,
        tokens,
        capabilities,
        budget_daily,
        on_budget_exceeded,
    })
}

/// Decodes `auth:`.
pub(crate) fn decode_auth(ctx: &mut Ctx<'_>, key_pos: Pos, node: &yaml::Node) -> AuthoredAuth {
    let mut auth = AuthoredAuth::default();
    let Some(fields) = ctx.map(node, "auth", AUTH_KEYS, key_pos) else {
        return auth;
    };
    if let Some(n) = fields.get("admin_tokens") {
        auth.admin_tokens = Some(decode_tokens(ctx, n, &fields.child("admin_tokens")));
    }
    if let Some(n) = fields.get("worker_tokens") {
        auth.worker_tokens = Some(decode_tokens(ctx, n, &fields.child("worker_tokens")));
    }
    auth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_lowercase_letters_digits_and_dashes() {
        assert!(check_tenant_name("acme-2").is_ok());
        assert!(check_tenant_name("Acme").is_err());
        assert!(check_tenant_name("acme_corp").is_err());
        assert!(check_tenant_name("-acme").is_err());
        assert!(check_tenant_name("").is_err());
    }
}
