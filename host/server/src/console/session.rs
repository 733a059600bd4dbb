//! The console's sign-in: an API token kept in an `HttpOnly`, `SameSite=Strict`
//! cookie, and the CSRF proof every state-changing request signed in by that
//! cookie must carry.
//!
//! Why the token itself is the cookie: it is what the API already trusts, so a
//! cookie request is authenticated, scoped to its tenant and allowed exactly as
//! a bearer request with the same token (one code path, no session table), and
//! every daemon sharing a store accepts it. The browser keeps it out of reach of
//! scripts (`HttpOnly`) and never sends it on a request another site starts
//! (`SameSite=Strict`); it is never put in a URL. The CSRF proof is a hash of
//! the token, so no daemon keeps state for it either; the console reads it from
//! `GET /console/session` and sends it in [`CSRF_HEADER`]. A cross-site page can
//! neither read it nor set that header on a request it makes.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::auth::{Caller, Proof, Role};
use crate::error::ApiError;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "weft_session";

/// The header that carries the CSRF proof.
pub const CSRF_HEADER: &str = "x-weft-csrf";

/// How long a sign-in lasts (the cookie's `Max-Age`), in seconds: 12 hours.
pub const SESSION_SECONDS: u64 = 12 * 3600;

/// The token in the request's session cookie, if it has one.
pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME && !value.is_empty()).then_some(value)
        })
}

/// The CSRF proof of a session holding `token`.
pub(crate) fn csrf_proof(token: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"weft-console-csrf\0");
    hash.update(token.as_bytes());
    hex::encode(hash.finalize())
}

/// Refuses (403) a request that may change state and does not carry
/// `expected` in [`CSRF_HEADER`].
pub(crate) fn check_csrf(request: &Request, expected: &str) -> Result<(), ApiError> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok(());
    }
    let sent = request
        .headers()
        .get(CSRF_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if bool::from(sent.ct_eq(expected.as_bytes())) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "{} {} came with the console's session cookie but without its CSRF proof: \
         send the `X-Weft-Csrf` header that GET /console/session gives",
        request.method(),
        request.uri().path()
    )))
}

/// Body of `POST /console/sign-in`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The API token.
    token: String,
}

/// `POST /console/sign-in {"token"}` (JSON only, so that a cross-site form
/// cannot post it): checks the token as the API does and answers the session
/// with the cookie set; 401 for a token `weft.yaml` does not know.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<SignIn>,
) -> Result<Response, ApiError> {
    if !state.auth.is_enabled() {
        return Err(ApiError::BadRequest(
            "this daemon runs with --no-auth: the console needs no sign-in".to_owned(),
        ));
    }
    let token = body.token.trim();
    if token.is_empty() || !token.bytes().all(is_cookie_octet) {
        return Err(ApiError::Unauthorized(
            "not an API token: a token is printable ASCII without spaces, quotes, `,`, `;` or `\\`"
                .to_owned(),
        ));
    }
    let caller = state.auth.caller_of(token)?;
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_SECONDS}{}",
        if secure { "; Secure" } else { "" }
    );
    let body = session_json(&caller, &Proof::Cookie(csrf_proof(token)), true);
    respond_with_cookie(body, &cookie)
}

/// `GET /console/session`: who is signed in, and the CSRF proof to send.
pub async fn session(
    State(state): State<AppState>,
    caller: Caller,
    Extension(proof): Extension<Proof>,
) -> Json<Value> {
    Json(session_json(&caller, &proof, state.auth.is_enabled()))
}

/// `DELETE /console/session`: signs out (the cookie is cleared).
pub async fn sign_out() -> Result<Response, ApiError> {
    let cookie = format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    respond_with_cookie(json!({ "signed_in": false }), &cookie)
}

fn session_json(caller: &Caller, proof: &Proof, auth: bool) -> Value {
    let (role, tenant) = match &caller.role {
        Role::Tenant(t) => ("tenant", Some(t.as_str())),
        Role::Worker => ("worker", None),
        Role::Admin => ("admin", None),
    };
    json!({
        "signed_in": true,
        "auth": auth,
        "role": role,
        "tenant": tenant,
        "token": caller.token,
        "describe": caller.describe(),
        "csrf": match proof { Proof::Cookie(c) => c.as_str(), Proof::None | Proof::Bearer => "" },
    })
}

fn respond_with_cookie(body: Value, cookie: &str) -> Result<Response, ApiError> {
    let value = HeaderValue::from_str(cookie)
        .map_err(|e| ApiError::Internal(format!("session cookie: {e}")))?;
    let mut response = Json(body).into_response();
    response.headers_mut().insert(SET_COOKIE, value);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// RFC 6265's cookie-octet: what a cookie value may hold unquoted.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; weft_session=tok-1; x=y"),
        );
        assert_eq!(cookie_token(&headers), Some("tok-1"));
        headers.insert(COOKIE, HeaderValue::from_static("weft_session=; a=b"));
        assert_eq!(cookie_token(&headers), None);
    }

    #[test]
    fn the_csrf_proof_depends_on_the_token_and_hides_it() {
        let a = csrf_proof("secret-a");
        assert_eq!(a.len(), 64);
        assert_ne!(a, csrf_proof("secret-b"));
        assert!(!a.contains("secret"));
    }

    #[test]
    fn only_cookie_octets_pass() {
        assert!(b"weft_abc-123.XYZ~".iter().all(|b| is_cookie_octet(*b)));
        for bad in [b' ', b';', b',', b'"', b'\\', 0x7f] {
            assert!(!is_cookie_octet(bad), "{bad}");
        }
    }
}
