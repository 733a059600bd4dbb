//! The web console: `weft daemon` serves it at `/` on the API's listener.
//!
//! **Why this shape.** The console is a handful of static files (HTML, one
//! style sheet, plain ES modules) embedded in the binary with `include_str!`:
//! nothing to install, no CDN, it works offline and behind a firewall, and
//! building weft needs no Node toolchain (there is no front-end build step
//! whose tools could rot). The pages read and act through the same `/v1/…` API
//! the CLI uses, so a console user can see and do exactly what their token
//! allows there — tenant scoping, roles and validation live in one place —
//! and lists are paginated by the store (`GET /v1/runs?before=`), not in the
//! browser. Sign-in keeps the token in an `HttpOnly`, `SameSite=Strict`
//! cookie ([`session`]); state-changing requests also carry a CSRF proof.
//! Every response sets a Content-Security-Policy that allows scripts, styles
//! and connections to this origin only.

pub(crate) mod session;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;

/// The page every console address answers with; its script draws the page
/// the path names.
const INDEX: &str = include_str!("../../console/index.html");

/// The other embedded files: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css",
        include_str!("../../console/style.css"),
    ),
    ("app.js", JS, include_str!("../../console/app.js")),
    ("api.js", JS, include_str!("../../console/api.js")),
    ("ui.js", JS, include_str!("../../console/ui.js")),
    ("runs.js", JS, include_str!("../../console/runs.js")),
    ("run.js", JS, include_str!("../../console/run.js")),
    ("graph.js", JS, include_str!("../../console/graph.js")),
    ("ops.js", JS, include_str!("../../console/ops.js")),
    ("costs.js", JS, include_str!("../../console/costs.js")),
];

const JS: &str = "text/javascript";

/// The console's pages (each serves [`INDEX`]).
pub const PAGES: &[&str] = &[
    "/",
    "/sign-in",
    "/runs",
    "/runs/{id}",
    "/queue",
    "/dead-letters",
    "/schedules",
    "/costs",
    "/workers",
];

/// The console's unauthenticated routes: its pages, its files and the sign-in.
/// Everything they show comes from the authenticated API.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/assets/{name}", get(asset))
        .route("/console/sign-in", post(session::sign_in));
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
}

/// The console's routes that need a signed-in caller (any role).
pub fn session_routes() -> Router<AppState> {
    Router::new().route(
        "/console/session",
        get(session::session).delete(session::sign_out),
    )
}

async fn index() -> Response {
    with_headers(INDEX, "text/html; charset=utf-8")
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => with_headers(body, kind),
        None => (StatusCode::NOT_FOUND, "no such console file").into_response(),
    }
}

fn with_headers(body: &'static str, kind: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    // The files change with the binary; revalidate instead of caching blindly.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    set(
        headers,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        let mut names: Vec<&str> = ASSETS.iter().map(|(n, _, _)| *n).collect();
        names.sort_unstable();
        for (_, _, body) in ASSETS {
            for line in body
                .lines()
                .filter(|l| l.trim_start().starts_with("import "))
            {
                let Some(start) = line.find("\"./") else {
                    continue;
                };
                let rest = &line[start + 3..];
                let file = rest.split('"').next().unwrap_or_default();
                assert!(
                    names.binary_search(&file).is_ok(),
                    "{file} is imported but not embedded"
                );
            }
        }
        for needed in ["style.css", "app.js"] {
            assert!(INDEX.contains(needed), "index.html must load {needed}");
        }
    }
}
