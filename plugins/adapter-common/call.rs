//! The request loop shared by the adapters: follow redirects (the host checks
//! each new request against the model's allowed hosts), wait out a 429 when the
//! provider's `retry-after` fits the configured cap, and map the outcome to
//! weft's error kinds: 429, 5xx, timeouts and connection failures are
//! transient; other 4xx are permanent; a refused host is permanent.

use crate::http::{self, Response, SendError, Url};
use crate::weft::plugin::types::PluginError;

/// Where the adapter writes the API key; the host puts the key there.
pub const API_KEY: &str = "{{weft.api_key}}";

/// Redirects followed per call.
const MAX_REDIRECTS: usize = 3;
/// 429 answers waited out per call.
const MAX_RATE_LIMIT_WAITS: usize = 3;

/// One provider call.
pub struct Call<'a> {
    /// The adapter's name, for messages.
    pub adapter: &'a str,
    /// Where to POST.
    pub url: Url,
    /// The request's headers.
    pub headers: Vec<(&'a str, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The longest `retry-after` waited out inside the call, in ms.
    pub max_retry_wait_ms: u64,
    /// The provider's error message in an error body, if it has one.
    pub error_message: fn(&[u8]) -> Option<String>,
}

impl Call<'_> {
    /// Sends the call; the body of its 2xx answer.
    pub fn send(mut self) -> Result<Vec<u8>, PluginError> {
        let mut redirects = 0;
        let mut waits = 0;
        loop {
            let response =
                http::post(&self.url, &self.headers, &self.body).map_err(|e| self.send_error(e))?;
            match response.status {
                200..=299 => return Ok(response.body),
                301 | 302 | 303 | 307 | 308 => {
                    redirects += 1;
                    if redirects > MAX_REDIRECTS {
                        return Err(PluginError::Permanent(format!(
                            "{}: more than {MAX_REDIRECTS} redirects, the last to {}",
                            self.adapter, self.url
                        )));
                    }
                    self.follow(&response)?;
                }
                429 => {
                    let wait = retry_after_ms(&response);
                    match wait {
                        Some(ms)
                            if ms <= self.max_retry_wait_ms && waits < MAX_RATE_LIMIT_WAITS =>
                        {
                            waits += 1;
                            http::sleep_ms(ms);
                        }
                        _ => return Err(self.rate_limited(&response, wait)),
                    }
                }
                status => return Err(self.status_error(status, &response)),
            }
        }
    }

    fn follow(&mut self, response: &Response) -> Result<(), PluginError> {
        let Some(location) = response.header("location") else {
            return Err(PluginError::Transient(format!(
                "{}: redirect ({}) from {} without a location",
                self.adapter, response.status, self.url
            )));
        };
        let next = self.url.resolve(&location).map_err(|why| {
            PluginError::Permanent(format!("{}: {why} (from {})", self.adapter, self.url))
        })?;
        if next.authority != self.url.authority {
            // The key is for the configured endpoint only.
            self.headers.retain(|(_, v)| !v.contains(API_KEY));
        }
        self.url = next;
        Ok(())
    }

    fn send_error(&self, e: SendError) -> PluginError {
        let (adapter, url) = (self.adapter, &self.url);
        match e {
            SendError::Denied => PluginError::Permanent(format!(
                "{adapter}: the host refused the request to {} ({url}): it is not in the \
                 model's allowed_hosts (a private, loopback or metadata address must be \
                 listed literally)",
                url.authority
            )),
            SendError::Timeout(why) => PluginError::Transient(format!("{adapter}: {url}: {why}")),
            SendError::Failed(why) => {
                PluginError::Transient(format!("{adapter}: {url}: request failed: {why}"))
            }
        }
    }

    fn rate_limited(&self, response: &Response, wait: Option<u64>) -> PluginError {
        let detail = self.detail(response);
        PluginError::Transient(match wait {
            Some(ms) => format!(
                "{}: rate limited (429): the provider asks to retry after {}, more than this \
                 adapter waits (max_retry_wait_ms {}){detail}",
                self.adapter,
                human_ms(ms),
                self.max_retry_wait_ms
            ),
            None => format!("{}: rate limited (429){detail}", self.adapter),
        })
    }

    fn status_error(&self, status: u16, response: &Response) -> PluginError {
        let detail = self.detail(response);
        let message = format!("{}: the provider answered {status}{detail}", self.adapter);
        if status >= 500 || status == 408 {
            PluginError::Transient(message)
        } else {
            PluginError::Permanent(message)
        }
    }

    fn detail(&self, response: &Response) -> String {
        match (self.error_message)(&response.body) {
            Some(m) => format!(": {m}"),
            None if response.body.is_empty() => String::new(),
            None => {
                let text = String::from_utf8_lossy(&response.body);
                let short: String = text.chars().take(200).collect();
                format!(": {short}")
            }
        }
    }
}

/// `retry-after-ms`, else `retry-after` in seconds (an HTTP date is not read).
fn retry_after_ms(response: &Response) -> Option<u64> {
    if let Some(ms) = response.header("retry-after-ms")
        && let Ok(ms) = ms.trim().parse::<f64>()
    {
        return Some(ms.max(0.0) as u64);
    }
    let secs = response.header("retry-after")?;
    let secs = secs.trim().parse::<f64>().ok()?;
    Some((secs.max(0.0) * 1000.0) as u64)
}

fn human_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}
