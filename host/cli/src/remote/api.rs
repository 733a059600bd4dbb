//! The daemon's worker endpoints as `weft worker` calls them: typed bodies
//! ([`weft_core::worker_protocol`]), blocking `ureq` calls run on tokio's
//! blocking pool, and the daemon's refusals kept apart from failures to reach
//! it (a refused report is final; an unreachable daemon is worth retrying).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::client::http::{Endpoint, endpoint};

/// How long a call other than a lease may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a call to the daemon did not give an answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The daemon answered with an error status.
    #[error("the daemon at {url} answered {status} to {path}: {message}")]
    Refused {
        /// The daemon.
        url: String,
        /// The endpoint.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Its `error` message.
        message: String,
    },
    /// The daemon could not be reached, or its answer could not be read.
    #[error("could not reach the weft daemon at {url} ({path}): {reason}")]
    Unreachable {
        /// The daemon.
        url: String,
        /// The endpoint.
        path: String,
        /// Why.
        reason: String,
    },
}

impl ApiError {
    /// Whether the daemon refused because the lease is not current (409).
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(self, Self::Refused { status: 409, .. })
    }
}

/// A client of one daemon's worker endpoints.
#[derive(Clone)]
pub(crate) struct WorkerApi {
    agent: ureq::Agent,
    /// Where requests go (`http://localhost` on a Unix socket).
    base: String,
    /// The daemon in messages: its URL, or `unix:PATH`.
    name: String,
    /// `Authorization: Bearer` value, from `$WEFT_TOKEN`.
    token: Option<String>,
}

impl WorkerApi {
    /// A client of the daemon at `url` (`host:port` means `http://host:port`,
    /// `unix:PATH` its Unix socket).
    pub(crate) fn new(url: &str, token: Option<String>) -> Self {
        let Endpoint { agent, base, name } = endpoint(url);
        Self {
            agent,
            base,
            name,
            token,
        }
    }

    /// The daemon's URL (or `unix:PATH`).
    pub(crate) fn url(&self) -> &str {
        &self.name
    }

    /// `POST path` with `body`; the answer as `R`. `timeout` bounds the whole
    /// call (a long poll needs more than the default).
    pub(crate) async fn post<B, R>(
        &self,
        path: &str,
        body: &B,
        timeout: Option<Duration>,
    ) -> Result<R, ApiError>
    where
        B: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let body = serde_json::to_value(body).map_err(|e| self.unreachable(path, e))?;
        let api = self.clone();
        let path = path.to_owned();
        let timeout = timeout.unwrap_or(CALL_TIMEOUT);
        let call = move || api.post_blocking(&path, &body, timeout);
        match tokio::task::spawn_blocking(call).await {
            Ok(answer) => answer,
            Err(e) => Err(self.unreachable("(call)", e)),
        }
    }

    fn post_blocking<R: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<R, ApiError> {
        let request = self
            .agent
            .post(format!("{}{path}", self.base))
            .config()
            .timeout_global(Some(timeout))
            .build();
        let mut response = self
            .authorized(request)
            .send_json(body)
            .map_err(|e| self.unreachable(path, e))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.unreachable(path, e))?;
        if status >= 400 {
            return Err(self.refused(path, status, &text));
        }
        serde_json::from_str(&text).map_err(|e| self.unreachable(path, e))
    }

    /// The component whose SHA-256 is `sha256`, checked against that hash.
    pub(crate) async fn plugin(&self, sha256: &str) -> Result<Vec<u8>, ApiError> {
        let api = self.clone();
        let sha = sha256.to_owned();
        let fetch = move || api.plugin_blocking(&sha);
        match tokio::task::spawn_blocking(fetch).await {
            Ok(answer) => answer,
            Err(e) => Err(self.unreachable("(plugin)", e)),
        }
    }

    fn plugin_blocking(&self, sha256: &str) -> Result<Vec<u8>, ApiError> {
        let path = format!("/v1/plugins/{sha256}");
        let request = self
            .agent
            .get(format!("{}{path}", self.base))
            .config()
            .timeout_global(Some(CALL_TIMEOUT))
            .build();
        let mut response = self
            .authorized(request)
            .call()
            .map_err(|e| self.unreachable(&path, e))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| self.unreachable(&path, e))?;
        if status >= 400 {
            return Err(self.refused(&path, status, &String::from_utf8_lossy(&bytes)));
        }
        let got = hex::encode(Sha256::digest(&bytes));
        if got != sha256 {
            return Err(self.unreachable(
                &path,
                format!("the component's sha256 is {got}, not the one asked for"),
            ));
        }
        Ok(bytes)
    }

    /// The daemon's refusal: its `error` message (the body itself when it is
    /// not an API error), with what to do about a 401 or 403.
    fn refused(&self, path: &str, status: u16, body: &str) -> ApiError {
        let mut message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|j| j.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| body.to_owned());
        if matches!(status, 401 | 403) {
            message.push_str(
                " (a worker needs WEFT_TOKEN set to a worker token whose hash weft.yaml lists \
                 under auth.worker_tokens; `weft token new --worker` makes one)",
            );
        }
        ApiError::Refused {
            url: self.name.clone(),
            path: path.to_owned(),
            status,
            message,
        }
    }

    /// `request` with `Authorization: Bearer`, when there is a token.
    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    fn unreachable(&self, path: &str, reason: impl std::fmt::Display) -> ApiError {
        ApiError::Unreachable {
            url: self.name.clone(),
            path: path.to_owned(),
            reason: reason.to_string(),
        }
    }
}
