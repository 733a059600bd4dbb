//! Which roles may use which routes: a group of routes is put behind an
//! [`Access`] with [`guard`], and a caller whose role it does not admit gets 403.
//!
//! Protecting a new group of routes is one call. For the worker endpoints:
//!
//! ```text
//! let worker = guard(
//!     Router::new()
//!         .route("/v1/worker/lease", post(worker::lease))
//!         .route("/v1/worker/complete", post(worker::complete)),
//!     Access::Workers,
//! );
//! ```
//!
//! and merge `worker` into the authenticated part of [`crate::router`] (before its
//! authentication layer, so the group gets it too). A handler that needs to know
//! who calls takes a [`Caller`] argument.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::auth::{Caller, Role};
use crate::error::ApiError;

/// Who may use a group of routes. Admins may use every group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any authenticated caller.
    AnyCaller,
    /// Tenant tokens (scoped to their own runs) and admins: the runs API.
    Tenants,
    /// Worker tokens and admins: `/v1/worker/...`, `/v1/plugins/...`, and
    /// `/metrics` (which names every tenant and its spend).
    Workers,
    /// Admins only: queue, dead letters, schedules, locks, and anything else.
    Admins,
}

impl Access {
    /// Whether a caller with `role` may use the group.
    pub fn admits(self, role: &Role) -> bool {
        matches!(
            (self, role),
            (_, Role::Admin)
                | (Self::AnyCaller, _)
                | (Self::Tenants, Role::Tenant(_))
                | (Self::Workers, Role::Worker)
        )
    }

    fn who(self) -> &'static str {
        match self {
            Self::AnyCaller => "any token",
            Self::Tenants => "tenant and admin tokens",
            Self::Workers => "worker and admin tokens",
            Self::Admins => "admin tokens",
        }
    }
}

/// `routes` behind `access`: every route added to `routes` so far answers 403
/// to a caller whose role `access` does not admit. The routes must also be behind
/// the authentication layer (as every route merged into [`crate::router`]'s API
/// part is), which answers 401 before this check.
pub fn guard<S>(routes: Router<S>, access: Access) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes.route_layer(middleware::from_fn_with_state(access, require))
}

async fn require(
    State(access): State<Access>,
    caller: Caller,
    request: Request,
    next: Next,
) -> Response {
    if access.admits(&caller.role) {
        return next.run(request).await;
    }
    let refused = ApiError::Forbidden(format!(
        "{} may not use {} {}: it is for {}",
        caller.describe(),
        request.method(),
        request.uri().path(),
        access.who()
    ));
    refused.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_pass_everywhere_and_others_only_where_admitted() {
        let tenant = Role::Tenant("acme".into());
        for access in [
            Access::AnyCaller,
            Access::Tenants,
            Access::Workers,
            Access::Admins,
        ] {
            assert!(access.admits(&Role::Admin), "{access:?}");
        }
        assert!(Access::Tenants.admits(&tenant));
        assert!(!Access::Tenants.admits(&Role::Worker));
        assert!(Access::Workers.admits(&Role::Worker));
        assert!(!Access::Workers.admits(&tenant));
        assert!(!Access::Admins.admits(&tenant));
        assert!(!Access::Admins.admits(&Role::Worker));
        assert!(Access::AnyCaller.admits(&Role::Worker));
    }
}
