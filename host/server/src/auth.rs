//! Who is calling: the [`Caller`] resolved from `Authorization: Bearer <token>`
//! against the token hashes of `weft.yaml` ([`Auth`]), and the layer that puts it
//! into every authenticated request.
//!
//! The presented token is hashed with SHA-256 and compared with every configured
//! hash in constant time, without stopping at a match, so that neither the answer
//! time nor the order of `weft.yaml` tells which hash came close.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use weft_flow::{ProjectConfig, TokenDecl};

use crate::error::ApiError;

/// What a token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Acts for one tenant: submits its runs and sees only them.
    Tenant(String),
    /// A remote worker: only the worker endpoints.
    Worker,
    /// An operator: every endpoint, every tenant's runs.
    Admin,
}

/// The authenticated caller of a request: its role and the name of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// What it may do.
    pub role: Role,
    /// The token's `name:` in `weft.yaml` (`no-auth` when auth is disabled).
    pub token: String,
}

impl Caller {
    /// The caller of every request when auth is disabled: an admin.
    pub fn unauthenticated() -> Self {
        Self {
            role: Role::Admin,
            token: "no-auth".to_owned(),
        }
    }

    /// The tenant it acts for, if it is a tenant's token.
    pub fn tenant(&self) -> Option<&str> {
        match &self.role {
            Role::Tenant(t) => Some(t),
            Role::Worker | Role::Admin => None,
        }
    }

    /// Whether it may see a run of `tenant`: admins see every run, a tenant
    /// only its own, a worker none through the runs API.
    pub fn may_see(&self, tenant: &str) -> bool {
        match &self.role {
            Role::Admin => true,
            Role::Tenant(t) => t == tenant,
            Role::Worker => false,
        }
    }

    /// For messages: "tenant token `ci` (tenant `acme`)", "admin token `ops`".
    pub fn describe(&self) -> String {
        match &self.role {
            Role::Tenant(t) => format!("tenant token `{}` (tenant `{t}`)", self.token),
            Role::Worker => format!("worker token `{}`", self.token),
            Role::Admin => format!("admin token `{}`", self.token),
        }
    }
}

/// A configured token: its hash and who presents it.
struct Entry {
    sha256: [u8; 32],
    caller: Caller,
}

/// How the API authenticates requests: not at all (`weft daemon --no-auth`), or
/// by the tokens of `weft.yaml`.
pub struct Auth {
    /// `None`: auth disabled.
    tokens: Option<Vec<Entry>>,
}

impl Auth {
    /// No authentication: every request is an admin's ([`Caller::unauthenticated`]).
    pub fn disabled() -> Self {
        Self { tokens: None }
    }

    /// Authentication by the tenant, admin and worker tokens of `project`. With
    /// none declared every request is refused (the daemon refuses to start so).
    pub fn from_project(project: &ProjectConfig) -> Self {
        let entry = |t: &TokenDecl, role: Role| Entry {
            sha256: t.sha256,
            caller: Caller {
                role,
                token: t.name.clone(),
            },
        };
        let mut tokens = Vec::new();
        for tenant in project.tenants.values() {
            let role = || Role::Tenant(tenant.name.clone());
            tokens.extend(tenant.tokens.iter().map(|t| entry(t, role())));
        }
        let auth = &project.auth;
        tokens.extend(auth.admin_tokens.iter().map(|t| entry(t, Role::Admin)));
        tokens.extend(auth.worker_tokens.iter().map(|t| entry(t, Role::Worker)));
        Self {
            tokens: Some(tokens),
        }
    }

    /// Whether requests need a token.
    pub fn is_enabled(&self) -> bool {
        self.tokens.is_some()
    }

    /// How many tokens are accepted.
    pub fn token_count(&self) -> usize {
        self.tokens.as_ref().map_or(0, Vec::len)
    }

    /// The caller presenting `headers`' `Authorization: Bearer <token>`; 401 for
    /// a missing, malformed or unknown token.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        if self.tokens.is_none() {
            return Ok(Caller::unauthenticated());
        }
        self.caller_of(bearer_token(headers.get(AUTHORIZATION))?)
    }

    /// The caller of a request and how it proved it: the bearer header when
    /// there is one, else the console's session cookie ([`crate::console::session`]).
    pub(crate) fn request_caller(&self, headers: &HeaderMap) -> Result<(Caller, Proof), ApiError> {
        if self.tokens.is_none() {
            return Ok((Caller::unauthenticated(), Proof::None));
        }
        if headers.get(AUTHORIZATION).is_none()
            && let Some(token) = crate::console::session::cookie_token(headers)
        {
            let caller = self.caller_of(token)?;
            return Ok((
                caller,
                Proof::Cookie(crate::console::session::csrf_proof(token)),
            ));
        }
        Ok((self.caller(headers)?, Proof::Bearer))
    }

    /// The caller holding `token`; 401 when it matches no configured hash.
    pub(crate) fn caller_of(&self, token: &str) -> Result<Caller, ApiError> {
        let Some(tokens) = &self.tokens else {
            return Ok(Caller::unauthenticated());
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, entry) in tokens.iter().enumerate() {
            let same = entry.sha256.ct_eq(&digest);
            index.conditional_assign(&(i as u64), same);
            found |= same;
        }
        let hit = usize::try_from(index).ok().and_then(|i| tokens.get(i));
        match hit {
            Some(entry) if bool::from(found) => Ok(entry.caller.clone()),
            _ => Err(ApiError::Unauthorized(
                "unknown API token: it matches no token hash in weft.yaml".to_owned(),
            )),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any
/// case, as RFC 6750 allows).
fn bearer_token(header: Option<&HeaderValue>) -> Result<&str, ApiError> {
    let Some(header) = header else {
        return Err(ApiError::Unauthorized(
            "missing API token: send `Authorization: Bearer <token>`".to_owned(),
        ));
    };
    let malformed = || {
        ApiError::Unauthorized(
            "malformed Authorization header: expected `Bearer <token>`".to_owned(),
        )
    };
    let text = header.to_str().map_err(|_| malformed())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(malformed());
    }
    Ok(token)
}

/// How a request proved who calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Proof {
    /// Auth is off.
    None,
    /// `Authorization: Bearer`: no browser sends it on its own, so it needs no
    /// cross-site check.
    Bearer,
    /// The console's session cookie, with the CSRF proof a request that
    /// changes state must echo in [`crate::console::session::CSRF_HEADER`].
    Cookie(String),
}

/// The layer in front of every authenticated route: resolves the [`Caller`] and
/// hands it to the route (its extractor), or answers 401. A request signed in
/// by the console's cookie that may change state (any method but GET, HEAD and
/// OPTIONS) must also carry the session's CSRF proof, else it is refused (403).
pub(crate) async fn authenticate(
    State(auth): State<Arc<Auth>>,
    mut request: Request,
    next: Next,
) -> Response {
    match auth.request_caller(request.headers()) {
        Ok((caller, proof)) => {
            if let Proof::Cookie(expected) = &proof
                && let Err(refused) = crate::console::session::check_csrf(&request, expected)
            {
                return refused.into_response();
            }
            request.extensions_mut().insert(caller);
            request.extensions_mut().insert(proof);
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::Internal("this route is not behind the authentication layer".to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn only_a_bearer_header_with_one_token_is_read() {
        assert_eq!(bearer_token(Some(&header("Bearer abc"))).unwrap(), "abc");
        assert_eq!(bearer_token(Some(&header("bearer  abc "))).unwrap(), "abc");
        for bad in ["Basic abc", "Bearer", "Bearer ", "Bearer a b", "abc"] {
            let err = bearer_token(Some(&header(bad))).unwrap_err();
            assert!(err.to_string().starts_with("malformed"), "{bad}: {err}");
        }
        let err = bearer_token(None).unwrap_err();
        assert!(err.to_string().starts_with("missing"), "{err}");
    }
}
