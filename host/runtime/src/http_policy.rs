//! Outgoing HTTP for model adapters. Each call carries an [`HttpPolicy`]: the
//! hosts its model may reach, its API key, and its timeouts. Every request the
//! adapter sends (a redirect it follows too) is checked in the send hook;
//! a refused one fails with `HTTP-request-denied` and a warning naming the host
//! and the model. Without a policy every request is refused.
//!
//! The API key never enters the plugin: the adapter writes
//! [`API_KEY_PLACEHOLDER`] where the key goes in a header (`authorization:
//! Bearer {{weft.api_key}}`, `x-api-key: {{weft.api_key}}`) and the host puts
//! the key there on the way out (or drops the header when the model has no
//! key).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::HeaderValue;
use http::uri::Scheme;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use weft_core::{HostRule, Target, check_target};

/// The longest `retry-after` the host remembers from a provider's answer:
/// a larger one (or a hostile one) is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Where an adapter writes the API key in a header; the host replaces it.
pub const API_KEY_PLACEHOLDER: &str = "{{weft.api_key}}";

/// Timeouts of each outgoing request. The stricter of these and the
/// adapter's own request options applies; running out is a timeout error the
/// adapter reports as transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// To open the connection (TCP and TLS).
    pub connect: Duration,
    /// From sending the request to the first byte of the answer.
    pub first_byte: Duration,
    /// Between two chunks of the answer's body.
    pub between_bytes: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            between_bytes: Duration::from_secs(30),
        }
    }
}

/// What one model-adapter call may reach over HTTP.
#[derive(Clone)]
pub struct HttpPolicy {
    model: String,
    rules: Vec<HostRule>,
    api_key: Option<HeaderValue>,
    timeouts: HttpTimeouts,
    refusals: Arc<Mutex<Vec<String>>>,
    /// The longest retry-after (ms) of a 429/503 answered so far; 0: none.
    retry_after_ms: Arc<AtomicU64>,
}

impl std::fmt::Debug for HttpPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPolicy")
            .field("model", &self.model)
            .field("rules", &self.rules)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// Why a policy cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpPolicyError {
    /// The API key cannot be sent in an HTTP header.
    #[error("the API key of model `{model}` has characters an HTTP header cannot carry")]
    BadKey {
        /// The model.
        model: String,
    },
}

impl HttpPolicy {
    /// A policy for calls of `model` that may reach the hosts `rules` allow,
    /// with `api_key` put where the adapter asks for it.
    pub fn new(
        model: &str,
        rules: Vec<HostRule>,
        api_key: Option<&str>,
        timeouts: HttpTimeouts,
    ) -> Result<Self, HttpPolicyError> {
        let api_key = match api_key {
            Some(k) => {
                let mut v = HeaderValue::from_str(k).map_err(|_| HttpPolicyError::BadKey {
                    model: model.to_owned(),
                })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(Self {
            model: model.to_owned(),
            rules,
            api_key,
            timeouts,
            refusals: Arc::default(),
            retry_after_ms: Arc::default(),
        })
    }

    /// The model this policy is for.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The rules requests are checked against.
    pub fn rules(&self) -> &[HostRule] {
        &self.rules
    }

    /// Why each refused request of this policy's calls was refused, oldest first.
    pub fn refusals(&self) -> Vec<String> {
        self.refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The longest `retry-after` (or `retry-after-ms`) of a 429 or 503 the
    /// provider answered to this policy's requests, in ms, at most
    /// [`MAX_RETRY_AFTER`]; the engine retries the step no sooner.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self.retry_after_ms.load(Ordering::SeqCst) {
            0 => None,
            ms => Some(ms),
        }
    }

    fn note_answer<B>(&self, response: &http::Response<B>) {
        let status = response.status().as_u16();
        if status != 429 && status != 503 {
            return;
        }
        if let Some(ms) = retry_after(response.headers()) {
            let cap = u64::try_from(MAX_RETRY_AFTER.as_millis()).unwrap_or(u64::MAX);
            self.retry_after_ms
                .fetch_max(ms.clamp(1, cap), Ordering::SeqCst);
        }
    }

    /// `text` with the API key replaced by `[redacted]`: for whatever an
    /// adapter says (errors, log lines), in case a provider echoed the key.
    pub fn redact(&self, text: &str) -> String {
        match self.api_key.as_ref().and_then(|k| k.to_str().ok()) {
            Some(key) if !key.is_empty() && text.contains(key) => text.replace(key, "[redacted]"),
            _ => text.to_owned(),
        }
    }

    fn refuse(&self, why: String) {
        tracing::warn!(model = %self.model, "outgoing HTTP request refused: {why}");
        self.refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(why);
    }

    /// Checks `request` and fills in the key; `Err` is the refusal.
    fn admit(&self, request: &mut http::Request<WasiBody>) -> Result<(), String> {
        let uri = request.uri();
        let https = uri.scheme() == Some(&Scheme::HTTPS);
        let Some(host) = uri.host() else {
            return Err(format!("a request without a host ({uri})"));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let default = if https { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default);
        let target = Target {
            host: host.to_ascii_lowercase(),
            port,
            default_port: port == default,
        };
        check_target(&self.rules, &target)
            .map_err(|why| format!("request for model `{}` to {why}", self.model))?;
        let marked: Vec<_> = request
            .headers()
            .iter()
            .filter(|(_, v)| contains(v.as_bytes(), API_KEY_PLACEHOLDER.as_bytes()))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        for (name, value) in marked {
            request.headers_mut().remove(&name);
            if let Some(key) = &self.api_key {
                let text = String::from_utf8_lossy(value.as_bytes());
                let key = key.to_str().unwrap_or_default();
                if let Ok(mut v) = HeaderValue::from_str(&text.replace(API_KEY_PLACEHOLDER, key)) {
                    v.set_sensitive(true);
                    request.headers_mut().insert(name, v);
                }
            }
        }
        Ok(())
    }

    fn options(&self, asked: Option<RequestOptions>) -> RequestOptions {
        let asked = asked.unwrap_or_default();
        let min = |a: Option<Duration>, b: Duration| Some(a.map_or(b, |a| a.min(b)));
        RequestOptions {
            connect_timeout: min(asked.connect_timeout, self.timeouts.connect),
            first_byte_timeout: min(asked.first_byte_timeout, self.timeouts.first_byte),
            between_bytes_timeout: min(asked.between_bytes_timeout, self.timeouts.between_bytes),
        }
    }
}

/// `retry-after-ms` (OpenAI), else `retry-after` in seconds; an HTTP date is
/// not read.
fn retry_after(headers: &http::HeaderMap) -> Option<u64> {
    let number = |name: &str| -> Option<f64> {
        let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        v.is_finite().then_some(v.max(0.0))
    };
    number("retry-after-ms")
        .or_else(|| number("retry-after").map(|s| s * 1000.0))
        .map(|ms| ms as u64)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

/// The send hook of one call: its policy, or none (every request refused).
pub(crate) struct PolicyHooks(pub Option<Arc<HttpPolicy>>);

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let Some(policy) = self.0.clone() else {
            tracing::warn!(uri = %request.uri(), "outgoing HTTP request refused: this call may reach no host");
            return Box::new(async { Err(Error::HttpRequestDenied) });
        };
        if let Err(why) = policy.admit(&mut request) {
            policy.refuse(why);
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let options = policy.options(options);
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            policy.note_answer(&response);
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}
