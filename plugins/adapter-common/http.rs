//! One HTTP request over `wasi:http/outgoing-handler`: send, read the whole
//! answer, and say what went wrong in terms the adapter can map to weft's
//! error kinds.

use crate::wasi::http::outgoing_handler;
use crate::wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use crate::wasi::io::streams::StreamError;

/// The largest answer body read; a bigger one is an error.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A parsed `http(s)://authority/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub authority: String,
    pub path_and_query: String,
}

impl Url {
    /// Parses an absolute http or https URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(r) = text.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("`{text}` is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("`{text}` has no usable host"));
        }
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(Self {
            https,
            authority: authority.to_owned(),
            path_and_query: path,
        })
    }

    /// This URL with `path` appended to its path (`…/v1` + `/messages`).
    pub fn join(&self, path: &str) -> Self {
        let base = self.path_and_query.trim_end_matches('/');
        Self {
            path_and_query: format!("{base}{path}"),
            ..self.clone()
        }
    }

    /// A `location` header resolved against this URL.
    pub fn resolve(&self, location: &str) -> Result<Self, String> {
        if location.starts_with("http://") || location.starts_with("https://") {
            Self::parse(location)
        } else if location.starts_with("//") {
            Self::parse(&format!(
                "{}:{location}",
                if self.https { "https" } else { "http" }
            ))
        } else if location.starts_with('/') {
            Ok(Self {
                path_and_query: location.to_owned(),
                ..self.clone()
            })
        } else {
            Err(format!("cannot follow the relative redirect `{location}`"))
        }
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.path_and_query)
    }
}

/// A whole answer.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lowercase), as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Why a request got no answer.
pub enum SendError {
    /// The host refused to send it (not an allowed host).
    Denied,
    /// A connect, first-byte or between-bytes timeout.
    Timeout(String),
    /// Anything else: connection refused, DNS, TLS, protocol.
    Failed(String),
}

/// POSTs `body` to `url` with `headers` and reads the whole answer.
pub fn post(url: &Url, headers: &[(&str, String)], body: &[u8]) -> Result<Response, SendError> {
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| SendError::Failed(format!("header `{name}`: {e:?}")))?;
    }
    let request = OutgoingRequest::new(fields);
    let bad = |what: &str| SendError::Failed(format!("cannot set the request's {what}"));
    request
        .set_method(&Method::Post)
        .map_err(|()| bad("method"))?;
    let scheme = if url.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| bad("scheme"))?;
    request
        .set_authority(Some(&url.authority))
        .map_err(|()| bad("authority"))?;
    request
        .set_path_with_query(Some(&url.path_and_query))
        .map_err(|()| bad("path"))?;
    let outgoing = request.body().map_err(|()| bad("body"))?;
    let future = outgoing_handler::handle(request, None).map_err(code)?;
    {
        let stream = outgoing.write().map_err(|()| bad("body stream"))?;
        for chunk in body.chunks(4096) {
            if let Err(e) = stream.blocking_write_and_flush(chunk) {
                // The send may have failed already; its error says why.
                drop(stream);
                future.subscribe().block();
                if let Some(Ok(Err(e))) = future.get() {
                    return Err(code(e));
                }
                return Err(SendError::Failed(format!("writing the body: {e:?}")));
            }
        }
    }
    OutgoingBody::finish(outgoing, None).map_err(code)?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(e))) => return Err(code(e)),
        _ => return Err(SendError::Failed("the response never came".into())),
    };
    let status = response.status();
    let headers = response.headers().entries();
    let incoming = response
        .consume()
        .map_err(|()| SendError::Failed("cannot read the response body".into()))?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| SendError::Failed("cannot read the response body".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(bytes) => {
                    body.extend_from_slice(&bytes);
                    if body.len() > MAX_BODY {
                        return Err(SendError::Failed(format!(
                            "the answer is larger than {MAX_BODY} bytes"
                        )));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(match crate::wasi::http::types::http_error_code(&e) {
                        Some(c) => code(c),
                        None => SendError::Failed(format!(
                            "reading the answer: {}",
                            e.to_debug_string()
                        )),
                    });
                }
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn code(e: ErrorCode) -> SendError {
    match e {
        ErrorCode::HttpRequestDenied => SendError::Denied,
        ErrorCode::ConnectionTimeout => SendError::Timeout("connecting timed out".into()),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            SendError::Timeout("the answer did not come in time".into())
        }
        other => SendError::Failed(format!("{other:?}")),
    }
}

/// Blocks for `ms` milliseconds (a `wasi:clocks` pollable).
pub fn sleep_ms(ms: u64) {
    crate::wasi::clocks::monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
}
