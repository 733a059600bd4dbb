//! Errors as the API answers them: a status code and `{"error": "..."}` (a 401
//! also carries `WWW-Authenticate: Bearer`).

use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use weft_engine::EngineError;
use weft_store_api::StoreError;

/// An API error: what the client gets back.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such run, task or flow (also: one the caller may not see).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served as sent.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the state (an idempotency key reused with
    /// another input, a finished run, a lock not held with that token).
    #[error("{0}")]
    Conflict(String),
    /// No valid API token: missing, malformed or unknown.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token whose role may not use the endpoint.
    #[error("{0}")]
    Forbidden(String),
    /// Something failed on the server's side.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(message) = &self {
            tracing::error!("API request failed: {message}");
        }
        let body = Json(json!({ "error": self.to_string() }));
        let mut response = (self.status(), body).into_response();
        if let Self::Unauthorized(_) = &self {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"weft\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::RunNotFound(_) | StoreError::TaskNotFound(_) => {
                Self::NotFound(e.to_string())
            }
            StoreError::NotDeadLettered { .. }
            | StoreError::StaleToken { .. }
            | StoreError::LockNotHeld { .. }
            | StoreError::LockTokenMismatch { .. } => Self::Conflict(e.to_string()),
            StoreError::IdempotencyConflict { .. } | StoreError::RunFinished { .. } => {
                Self::Conflict(e.to_string())
            }
            StoreError::Invalid(_) => Self::BadRequest(e.to_string()),
            _ => Self::Internal(e.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(inner) => inner.into(),
            EngineError::UnknownFlow(_)
            | EngineError::UnknownRun(_)
            | EngineError::UnknownSchedule { .. } => Self::NotFound(e.to_string()),
            EngineError::UnknownTask(_) | EngineError::UnknownPool(_) => {
                Self::NotFound(e.to_string())
            }
            EngineError::PoolExhausted { .. } => Self::Conflict(e.to_string()),
            EngineError::SwapRefused { .. } => Self::BadRequest(e.to_string()),
            EngineError::LeaseLost { .. } => Self::Conflict(e.to_string()),
            EngineError::Forbidden { .. } => Self::Forbidden(e.to_string()),
            EngineError::Input { .. } | EngineError::BadLease(_) => Self::BadRequest(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}
