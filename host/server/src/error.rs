//! Errors as the API answers them: a status code and `{"error": "..."}` (a 401
//! also carries `WWW-Authenticate: Bearer`).

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
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
    /// The store cannot be reached now (a database that is down); the
    /// client may try again (`Retry-After`).
    #[error("{0}")]
    Unavailable(String),
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
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(message) => tracing::error!("API request failed: {message}"),
            Self::Unavailable(message) => tracing::warn!("API request refused: {message}"),
            _ => {}
        }
        let body = Json(json!({ "error": self.to_string() }));
        let mut response = (self.status(), body).into_response();
        if let Self::Unauthorized(_) = &self {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"weft\""),
            );
        }
        if let Self::Unavailable(_) = &self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
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
            StoreError::IdempotencyConflict { .. }
            | StoreError::RunFinished { .. }
            | StoreError::PoolExhausted { .. } => Self::Conflict(e.to_string()),
            StoreError::Invalid(_) => Self::BadRequest(e.to_string()),
            StoreError::Unavailable(_) => Self::Unavailable(e.to_string()),
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
            EngineError::SwapRefused { .. } => Self::BadRequest(e.to_string()),
            EngineError::LeaseLost { .. } => Self::Conflict(e.to_string()),
            EngineError::Forbidden { .. } => Self::Forbidden(e.to_string()),
            EngineError::Input { .. }
            | EngineError::BadLease(_)
            | EngineError::StartTooLate { .. } => Self::BadRequest(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_store_that_is_down_is_503_with_retry_after() {
        let e = ApiError::from(StoreError::Unavailable(
            "postgres 127.0.0.1:5432/weft".into(),
        ));
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        let engine = ApiError::from(EngineError::Store(StoreError::Unavailable("x".into())));
        assert_eq!(engine.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
