//! The server: a scripted queue of replies, a record of every request, and
//! in-flight counters.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::protocol::{Protocol, last_user_text};

/// What the fake answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with a text answer and these token counts.
    Text {
        /// The answer.
        text: String,
        /// Prompt tokens reported.
        input_tokens: u64,
        /// Answer tokens reported.
        output_tokens: u64,
    },
    /// 200 with a call of tool `name` with `input`.
    ToolCall {
        /// The tool's name.
        name: String,
        /// Its arguments.
        input: Value,
    },
    /// 429 with `retry-after: <secs>`.
    RateLimited {
        /// The `retry-after` header, in seconds.
        retry_after_secs: u64,
    },
    /// 500 with an error body.
    ServerError,
    /// Wait `delay`, then answer with `then`.
    Slow {
        /// How long to wait before answering.
        delay: Duration,
        /// The answer after the wait.
        then: Box<Reply>,
    },
    /// 200 with a body that is not JSON.
    Malformed,
    /// 302 to `location`.
    Redirect {
        /// The `location` header.
        location: String,
    },
    /// A 4xx with the provider's error body. `{key}` in `message` is replaced
    /// by the API key the request carried (providers echo bad keys).
    ClientError {
        /// The status, e.g. 400 or 401.
        status: u16,
        /// The error message.
        message: String,
    },
    /// The ordinary answer: 200 with `fake answer: <the last user message>`
    /// (what a request gets when nothing is scripted).
    Echo,
}

impl Reply {
    /// A 200 text answer.
    pub fn text(text: &str, input_tokens: u64, output_tokens: u64) -> Self {
        Self::Text {
            text: text.to_owned(),
            input_tokens,
            output_tokens,
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `POST`, …
    pub method: String,
    /// The path, e.g. `/v1/messages`.
    pub path: String,
    /// Every header, names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

impl RecordedRequest {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// How a fake serves (see [`FakeProvider::start_with`]).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Answer only this protocol's endpoint (the other's is a 404); `None`:
    /// both.
    pub protocol: Option<Protocol>,
    /// The replies of the first requests, in order (more can be pushed).
    pub script: Vec<Reply>,
    /// Once the script is used up, start it over (else: [`Reply::Echo`]).
    pub repeat: bool,
    /// Print a line per request on stderr (method, path, status).
    pub log_requests: bool,
}

#[derive(Default)]
struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    /// What `replies` is filled with again when it runs empty (`repeat`).
    refill: Vec<Reply>,
    only: Option<Protocol>,
    log_requests: bool,
    requests: Mutex<Vec<RecordedRequest>>,
    arrived: Notify,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// While true, requests wait (in flight) before they are answered.
    held: Mutex<bool>,
    released: Notify,
    in_flight_changed: Notify,
}

impl Shared {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake provider on `127.0.0.1`, stopped when dropped.
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The server task; `None` once [`FakeProvider::stopped`] took it.
    task: Option<JoinHandle<()>>,
}

impl FakeProvider {
    /// Starts a fake on a free loopback port, serving both protocols.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_with(listener, Options::default(), std::future::pending()).await
    }

    /// Starts a fake on `listener` with `options`; it stops accepting once
    /// `shutdown` resolves, answers the requests it is in, and
    /// [`FakeProvider::stopped`] then returns.
    pub async fn start_with(
        listener: tokio::net::TcpListener,
        options: Options,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            replies: Mutex::new(options.script.iter().cloned().collect()),
            refill: if options.repeat {
                options.script
            } else {
                Vec::new()
            },
            only: options.protocol,
            log_requests: options.log_requests,
            ..Shared::default()
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(shutdown);
            if let Err(e) = served.await {
                eprintln!("fake provider stopped: {e}");
            }
        });
        Ok(Self {
            addr,
            shared,
            task: Some(task),
        })
    }

    /// Waits until the server has stopped (after the `shutdown` of
    /// [`FakeProvider::start_with`] and the requests in flight).
    pub async fn stopped(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`: what an `allowed_hosts` entry must say.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port>/v1`: the endpoint to give an adapter.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues the reply for a coming request (first pushed, first used).
    pub fn push(&self, reply: Reply) {
        Shared::lock(&self.shared.replies).push_back(reply);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        Shared::lock(&self.shared.requests).clone()
    }

    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        Shared::lock(&self.shared.requests).len()
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// From now on, requests are held in flight (recorded, counted, not
    /// answered) until [`FakeProvider::release`]: a test can see exactly how
    /// many a caller lets run at once, with no timing involved.
    pub fn hold(&self) {
        *Shared::lock(&self.shared.held) = true;
    }

    /// Answers every held request, and stops holding new ones.
    pub fn release(&self) {
        *Shared::lock(&self.shared.held) = false;
        self.shared.released.notify_waiters();
    }

    /// Waits until exactly `n` requests are in flight at once.
    pub async fn wait_in_flight(&self, n: usize) {
        loop {
            let changed = self.shared.in_flight_changed.notified();
            if self.in_flight() == n {
                return;
            }
            changed.await;
        }
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) {
        loop {
            let arrived = self.shared.arrived.notified();
            if self.request_count() >= n {
                return;
            }
            arrived.await;
        }
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Decrements the in-flight count when the request is done (or dropped).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        shared.in_flight_changed.notify_waiters();
        Self(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.in_flight_changed.notify_waiters();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let log = shared
        .log_requests
        .then(|| format!("{method} {}", uri.path()));
    let response = respond(shared, method, uri, headers, body).await;
    if let Some(line) = log {
        let status = response.status();
        match response.headers().get(header::RETRY_AFTER) {
            Some(after) => eprintln!(
                "{line} -> {status} (retry-after {})",
                String::from_utf8_lossy(after.as_bytes())
            ),
            None => eprintln!("{line} -> {status}"),
        }
    }
    response
}

async fn respond(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _guard = InFlight::enter(&shared);
    let recorded = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    Shared::lock(&shared.requests).push(recorded.clone());
    shared.arrived.notify_waiters();
    loop {
        let released = shared.released.notified();
        if !*Shared::lock(&shared.held) {
            break;
        }
        released.await;
    }

    let Some(protocol) =
        Protocol::of_path(uri.path()).filter(|p| shared.only.is_none_or(|o| o == *p))
    else {
        return (StatusCode::NOT_FOUND, "no such endpoint").into_response();
    };
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "POST only").into_response();
    }
    let key = protocol
        .api_key(|n| recorded.header(n))
        .unwrap_or_default()
        .to_owned();
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                protocol,
                400,
                "invalid_request_error",
                &format!("body: {e}"),
            );
        }
    };
    if let Err(why) = protocol.check(&body, recorded.header("anthropic-version")) {
        return error(protocol, 400, "invalid_request_error", &why);
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // A request the provider refuses takes no scripted reply.
    let reply = {
        let mut replies = Shared::lock(&shared.replies);
        if replies.is_empty() {
            replies.extend(shared.refill.iter().cloned());
        }
        replies.pop_front()
    };
    let asked = last_user_text(&body);
    answer(protocol, &model, &key, &asked, reply.unwrap_or(Reply::Echo)).await
}

async fn answer(
    protocol: Protocol,
    model: &str,
    key: &str,
    asked: &str,
    mut reply: Reply,
) -> Response {
    while let Reply::Slow { delay, then } = reply {
        tokio::time::sleep(delay).await;
        reply = *then;
    }
    if reply == Reply::Echo {
        let words = asked.split_whitespace().count() as u64;
        reply = Reply::text(&format!("fake answer: {asked}"), words.max(1), words + 2);
    }
    match reply {
        Reply::Text {
            text,
            input_tokens,
            output_tokens,
        } => json(
            200,
            &protocol.text_body(model, &text, input_tokens, output_tokens),
        ),
        Reply::ToolCall { name, input } => json(200, &protocol.tool_body(model, &name, &input)),
        Reply::RateLimited { retry_after_secs } => {
            let mut r = error(protocol, 429, "rate_limit_error", "Rate limit reached");
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            r
        }
        Reply::ServerError => error(protocol, 500, "api_error", "The server had an error"),
        Reply::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\": \"chatcmpl-fake\", \"choices\": [",
        )
            .into_response(),
        Reply::Redirect { location } => {
            (StatusCode::FOUND, [(header::LOCATION, location)], "moved").into_response()
        }
        Reply::ClientError { status, message } => error(
            protocol,
            status,
            "invalid_request_error",
            &message.replace("{key}", key),
        ),
        Reply::Slow { .. } | Reply::Echo => error(protocol, 500, "api_error", "unreachable"),
    }
}

fn json(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(protocol: Protocol, status: u16, kind: &str, message: &str) -> Response {
    json(status, &protocol.error_body(kind, message))
}
