//! The weft daemon's HTTP API as the commands use it: where the daemon is
//! (`--daemon URL`, which clap also fills from `$WEFT_DAEMON`: an HTTP URL, or
//! `unix:PATH` for the Unix socket `weft daemon --socket PATH` serves), the API token
//! (`$WEFT_TOKEN`, sent as `Authorization: Bearer`; never a flag, so that it stays
//! off the command line) and JSON calls whose API errors (`{"error": "..."}` with a
//! 4xx/5xx status) become errors quoting the daemon's message.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long to wait for the daemon to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Characters of a non-JSON answer quoted in an error.
const QUOTE: usize = 200;

/// The environment variable holding the API token.
const TOKEN_VAR: &str = "WEFT_TOKEN";

/// A client of one daemon.
pub(crate) struct DaemonClient {
    agent: ureq::Agent,
    /// Where requests go: the daemon's URL, or `http://localhost` on its socket.
    base: String,
    /// The daemon in messages: its URL, or `unix:PATH`.
    name: String,
    /// `Bearer <token>` from `$WEFT_TOKEN`, if set.
    authorization: Option<String>,
}

impl DaemonClient {
    /// The daemon `flag` names (`--daemon` or `$WEFT_DAEMON`), if it names one.
    pub(crate) fn from_flag(flag: Option<&str>) -> Option<Self> {
        flag.map(str::trim)
            .filter(|url| !url.is_empty())
            .map(Self::new)
    }

    /// A client of the daemon at `url`; `host:port` without a scheme means
    /// `http://host:port`, `unix:PATH` its Unix socket.
    pub(crate) fn new(url: &str) -> Self {
        let Endpoint { agent, base, name } = endpoint(url);
        let authorization = token_from_env().map(|t| format!("Bearer {t}"));
        Self {
            agent,
            base,
            name,
            authorization,
        }
    }

    /// `request` with the `Authorization` header, when there is a token.
    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    /// The daemon's URL (or `unix:PATH`), for messages.
    pub(crate) fn url(&self) -> &str {
        &self.name
    }

    /// `GET path?query`; the answer's JSON.
    pub(crate) fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let mut request = self.authorized(self.agent.get(format!("{}{path}", self.base)));
        for (key, value) in query {
            request = request.query(*key, value);
        }
        self.answer("GET", path, request.call(), None)
            .map(|(_, json)| json)
    }

    /// `POST path` with `body` (or none); the status and the answer's JSON.
    pub(crate) fn post(&self, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let request = self.authorized(self.agent.post(format!("{}{path}", self.base)));
        let sent = match body {
            Some(body) => request.send_json(body),
            None => request.send_empty(),
        };
        self.answer("POST", path, sent, None)
    }

    /// `POST path` with `body`; the status and JSON of a success, and also of an
    /// answer with the `expected` error status (e.g. a 409 that names a lock's
    /// holder); any other error as [`DaemonClient::post`].
    pub(crate) fn post_expecting(
        &self,
        path: &str,
        body: &Value,
        expected: u16,
    ) -> Result<(u16, Value)> {
        let sent = self
            .authorized(self.agent.post(format!("{}{path}", self.base)))
            .send_json(body);
        self.answer("POST", path, sent, Some(expected))
    }

    /// `PUT path?query` with `bytes` as an `application/wasm` body; the
    /// answer's JSON.
    pub(crate) fn put_bytes(
        &self,
        path: &str,
        query: &[(&str, String)],
        bytes: &[u8],
    ) -> Result<Value> {
        let mut request = self
            .authorized(self.agent.put(format!("{}{path}", self.base)))
            .header("Content-Type", "application/wasm");
        for (key, value) in query {
            request = request.query(*key, value);
        }
        self.answer("PUT", path, request.send(bytes), None)
            .map(|(_, json)| json)
    }

    /// `DELETE path`; the answer's JSON.
    pub(crate) fn delete(&self, path: &str) -> Result<Value> {
        let sent = self
            .authorized(self.agent.delete(format!("{}{path}", self.base)))
            .call();
        self.answer("DELETE", path, sent, None)
            .map(|(_, json)| json)
    }

    /// The status and JSON of an answer, or an error naming the daemon and, for
    /// an API error (other than `expected`), quoting its message.
    fn answer(
        &self,
        method: &str,
        path: &str,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        expected: Option<u16>,
    ) -> Result<(u16, Value)> {
        let mut response = sent.map_err(|e| anyhow!(e)).with_context(|| {
            format!(
                "could not reach the weft daemon at {} (is `weft daemon` running there?)",
                self.name
            )
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().with_context(|| {
            format!(
                "could not read the answer of the weft daemon at {}",
                self.name
            )
        })?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        if status >= 400 && Some(status) != expected {
            let message = json
                .as_ref()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str)
                .map_or_else(
                    || crate::commands::state::cut(text.trim(), QUOTE),
                    str::to_owned,
                );
            if status == 401 || status == 403 {
                return Err(self.refused(status, &message, method, path));
            }
            bail!(
                "{message} (the weft daemon at {} answered {status} to {method} {path})",
                self.name
            );
        }
        match json {
            Some(json) => Ok((status, json)),
            None => bail!(
                "{} is not a weft daemon: {method} {path} answered {status} with non-JSON `{}`",
                self.name,
                crate::commands::state::cut(text.trim(), QUOTE)
            ),
        }
    }
}

impl DaemonClient {
    /// The error for a 401 or 403: what the daemon said and what to do.
    fn refused(&self, status: u16, message: &str, method: &str, path: &str) -> anyhow::Error {
        let base = &self.name;
        match (status, &self.authorization) {
            (401, None) => anyhow!(
                "the weft daemon at {base} needs an API token: set {TOKEN_VAR} to a token that \
                 weft.yaml admits (`weft token new` makes one) ({message}; {status} to {method} {path})"
            ),
            (401, Some(_)) => anyhow!(
                "the weft daemon at {base} refused the token in {TOKEN_VAR}: {message} \
                 ({status} to {method} {path})"
            ),
            _ => anyhow!(
                "the weft daemon at {base} refused the token in {TOKEN_VAR} for {method} {path}: \
                 {message} ({status})"
            ),
        }
    }
}

/// `text` as one URL path segment: every byte but `A-Za-z0-9-._~` percent-encoded
/// (so a `/` in an artifact or lock key stays inside the segment).
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The API token in `$WEFT_TOKEN`, if one is set (trimmed, not empty).
pub(crate) fn token_from_env() -> Option<String> {
    std::env::var(TOKEN_VAR)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// How to reach a daemon: the agent, the base URL of its requests, and its
/// name in messages.
pub(crate) struct Endpoint {
    /// The HTTP agent (over TCP, or over the Unix socket).
    pub agent: ureq::Agent,
    /// The base URL of requests, no trailing `/`.
    pub base: String,
    /// The daemon in messages: its URL or `unix:PATH`.
    pub name: String,
}

/// The Unix socket `url` names, if it is `unix:PATH` (also `unix://PATH`).
pub(crate) fn socket_path(url: &str) -> Option<PathBuf> {
    let rest = url.trim().strip_prefix("unix:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// The daemon `url` names: `unix:PATH` is its Unix socket; else an HTTP URL,
/// `host:port` without a scheme meaning `http://host:port`.
pub(crate) fn endpoint(url: &str) -> Endpoint {
    match socket_path(url) {
        Some(path) => Endpoint {
            name: format!("unix:{}", path.display()),
            agent: super::unix_transport::unix_agent(path, agent_config()),
            base: super::unix_transport::SOCKET_BASE.to_owned(),
        },
        None => {
            let base = base_url(url);
            Endpoint {
                agent: agent_config().into(),
                name: base.clone(),
                base,
            }
        }
    }
}

/// The base URL of the daemon `url` names: `host:port` without a scheme means
/// `http://host:port`; no trailing `/`.
pub(crate) fn base_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

/// The agent config for the daemon: error statuses are answers, connecting
/// gives up after a few seconds.
fn agent_config() -> ureq::config::Config {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .build()
}

/// `answer[key]` as a `T`, or an error saying the daemon's answer lacks it.
pub(crate) fn field<T: DeserializeOwned>(answer: &Value, key: &str) -> Result<T> {
    let value = answer.get(key).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value)
        .with_context(|| format!("the daemon's answer has no valid `{key}`: {answer}"))
}

/// The error of a command that needs a daemon when none was named.
pub(crate) fn needs_daemon(command: &str, instead: &str) -> anyhow::Error {
    anyhow!(
        "`{command}` talks to a running daemon: start one with `weft daemon` and name it \
         with `--daemon URL` or `WEFT_DAEMON=URL` (e.g. http://127.0.0.1:7878, or \
         unix:.weft/weft.sock for its `--socket`){instead}"
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{base_url, socket_path};

    #[test]
    fn unix_urls_name_a_socket_and_others_are_http() {
        let path = |p: &str| Some(PathBuf::from(p));
        assert_eq!(socket_path("unix:/run/weft.sock"), path("/run/weft.sock"));
        assert_eq!(socket_path("unix:///run/weft.sock"), path("/run/weft.sock"));
        assert_eq!(socket_path("unix:.weft/weft.sock"), path(".weft/weft.sock"));
        assert_eq!(socket_path("unix:"), None);
        assert_eq!(socket_path("http://127.0.0.1:7878"), None);
        assert_eq!(base_url("127.0.0.1:7878/"), "http://127.0.0.1:7878");
    }
}
