//! The HTTP client every web source shares: timeouts, retries with exponential backoff
//! and jitter (honouring `Retry-After` in both its forms), a response size cap,
//! redirects only within the host, credentials sent only to the configured origin, and
//! errors and positions that name the URL but never a secret.

use crate::{Cancel, SourceError};
use abe_schema::redact;
use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde_json::Value;
use std::io::Read;
use std::time::{Duration, SystemTime};

/// Seconds to wait for a connection and for each response, unless a source says.
pub(crate) fn default_timeout_secs() -> u64 {
    30
}

/// Largest response body accepted, unless a source says.
pub(crate) fn default_max_response_bytes() -> u64 {
    50 * 1024 * 1024
}

/// Further attempts after a transient failure, unless a source says.
pub(crate) fn default_retries() -> u32 {
    4
}

/// Timeout, retry and size limits of an [`HttpClient`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpSettings {
    /// Seconds for connecting and for each response.
    pub timeout_secs: u64,
    /// Further attempts after a transient failure.
    pub retries: u32,
    /// Largest response body accepted.
    pub max_response_bytes: u64,
}

/// What proves who the hub is, sent only to the configured origin: a `Link` or a
/// redirect may point anywhere.
#[derive(Default)]
pub(crate) struct Credentials {
    /// Headers holding secrets (marked sensitive).
    pub headers: HeaderMap,
    /// HTTP Basic user and password.
    pub basic: Option<(String, String)>,
    /// Query parameters holding secrets.
    pub query: Vec<(String, String)>,
    /// Every secret value, scrubbed from messages.
    pub secrets: Vec<String>,
}

impl Credentials {
    /// Adds a header whose value is a secret.
    pub(crate) fn header(
        &mut self,
        name: HeaderName,
        value: String,
        field: &str,
    ) -> Result<(), SourceError> {
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            SourceError::Config(format!(
                "the secret in the environment variable named by {field} holds characters \
                 an HTTP header cannot carry"
            ))
        })?;
        header.set_sensitive(true);
        self.headers.insert(name, header);
        self.secrets.push(value);
        Ok(())
    }
}

/// A response that came back 2xx, body read within the size cap.
pub(crate) struct Fetched {
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
}

/// A blocking HTTP client with the hub's rules.
pub(crate) struct HttpClient {
    client: reqwest::blocking::Client,
    settings: HttpSettings,
    /// The configured URL's origin: credentials go there only.
    origin: reqwest::Url,
    credentials: Credentials,
    cancel: Cancel,
}

const USER_AGENT: &str = concat!("abe-hub/", env!("CARGO_PKG_VERSION"));
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;

/// How one attempt failed.
enum Failure {
    /// Worth another attempt; `wait` is the server's `Retry-After`, if it sent one.
    Transient {
        message: String,
        wait: Option<Duration>,
    },
    /// Retrying cannot help.
    Permanent(String),
}

/// Reads a secret from the environment variable `var`, which the config names in
/// `field`. Errors name the variable, never a value.
pub(crate) fn secret_from_env(var: &str, field: &str) -> Result<String, SourceError> {
    let problem = match std::env::var(var) {
        Ok(value) if !value.is_empty() => return Ok(value),
        Ok(_) => "is empty",
        Err(std::env::VarError::NotPresent) => "is not set",
        Err(std::env::VarError::NotUnicode(_)) => "is not valid Unicode",
    };
    Err(SourceError::Config(format!(
        "environment variable `{var}` (named by {field}) {problem}"
    )))
}

/// A URL as people read it in positions and errors: secrets redacted, Thai and other
/// text decoded from its percent-escapes.
pub(crate) fn display_url(url: &str) -> String {
    let redacted = redact::url(url);
    match percent_encoding::percent_decode_str(&redacted).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => redacted,
    }
}

impl HttpClient {
    /// A client for requests to `origin`'s site; it must be built and used outside an
    /// async context (runs read sources on blocking threads).
    pub(crate) fn new(
        settings: HttpSettings,
        origin: &Url,
        credentials: Credentials,
        cancel: Cancel,
    ) -> Result<Self, SourceError> {
        if settings.timeout_secs == 0 {
            return Err(SourceError::Config(
                "timeout_secs must be at least 1".into(),
            ));
        }
        if settings.max_response_bytes == 0 {
            return Err(SourceError::Config(
                "max_response_bytes must be at least 1".into(),
            ));
        }
        let timeout = Duration::from_secs(settings.timeout_secs);
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let allowed = attempt.previous().first().is_some_and(|first| {
                    first.host_str() == attempt.url().host_str()
                        && !(first.scheme() == "https" && attempt.url().scheme() == "http")
                });
                if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if allowed {
                    attempt.follow()
                } else {
                    // The 3xx comes back and becomes a clear error.
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|e| SourceError::Config(format!("cannot start the HTTP client: {e}")))?;
        Ok(HttpClient {
            client,
            settings,
            origin: origin.clone(),
            credentials: Credentials {
                secrets: credentials
                    .secrets
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect(),
                ..credentials
            },
            cancel,
        })
    }

    /// `text` with every secret value replaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        redact::scrub(text, &self.credentials.secrets)
    }

    /// `url` as positions and errors show it.
    pub(crate) fn show_url(&self, url: &Url) -> String {
        self.redact(&display_url(url.as_str()))
    }

    /// Sends a request, retrying transient failures, and returns a 2xx response.
    pub(crate) fn fetch(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Fetched, SourceError> {
        let attempts = self.settings.retries.saturating_add(1);
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(BACKOFF_BASE)
            .with_max_delay(BACKOFF_CAP)
            .with_max_times(self.settings.retries as usize)
            .with_jitter()
            .build();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if self.cancel.is_cancelled() {
                return Err(SourceError::Cancelled);
            }
            let (message, wait) = match self.attempt(&method, url, body) {
                Ok(fetched) => return Ok(fetched),
                Err(Failure::Permanent(message)) => return Err(self.error(url, message)),
                Err(Failure::Transient { message, wait }) => (message, wait),
            };
            let Some(backoff) = delays.next() else {
                let tries = if attempts == 1 {
                    "1 attempt, retries = 0".to_string()
                } else {
                    format!("gave up after {attempts} attempts")
                };
                return Err(self.error(url, format!("{message} ({tries})")));
            };
            let delay = wait.unwrap_or(backoff).min(BACKOFF_CAP);
            tracing::warn!(
                url = %self.show_url(url),
                attempt,
                of = attempts,
                delay_ms = delay.as_millis() as u64,
                "{}; retrying",
                self.scrub(url, &message)
            );
            if !self.cancel.sleep(delay) {
                return Err(SourceError::Cancelled);
            }
        }
    }

    fn error(&self, url: &Url, message: String) -> SourceError {
        SourceError::Io {
            path: self.show_url(url),
            source: std::io::Error::other(self.scrub(url, &message)),
        }
    }

    /// Message text without the raw URL (it may carry literal keys) or secrets.
    fn scrub(&self, url: &Url, message: &str) -> String {
        self.redact(&message.replace(url.as_str(), &display_url(url.as_str())))
    }

    fn attempt(
        &self,
        method: &reqwest::Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Fetched, Failure> {
        let mut request = self.client.request(method.clone(), url.clone()).header(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if url.origin() == self.origin.origin() {
            let credentials = &self.credentials;
            request = request
                .headers(credentials.headers.clone())
                .query(&credentials.query);
            if let Some((user, password)) = &credentials.basic {
                request = request.basic_auth(user, Some(password));
            }
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().map_err(|e| self.transport_failure(e))?;
        let status = response.status();
        let response_headers = response.headers().clone();
        if status.is_success() {
            let body = self.read_capped(response)?;
            return Ok(Fetched {
                headers: response_headers,
                body,
            });
        }
        if status.is_redirection() {
            let location = response_headers
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .map_or_else(|| "nowhere".to_string(), |l| display_url(l.as_str()));
            return Err(Failure::Permanent(format!(
                "HTTP {status}: redirected to {location}, another host or plain http, which \
                 is not followed so credentials stay with the configured host; put the \
                 final address in the config"
            )));
        }
        let detail = error_detail(&read_prefix(response, 4096));
        let message = format!("HTTP {status}{detail}");
        // 429 and 5xx are worth another attempt, after the server's Retry-After if it
        // sent one.
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Err(Failure::Transient {
                message,
                wait: retry_after(&response_headers, SystemTime::now()),
            })
        } else {
            Err(Failure::Permanent(format!("{message} (not retried)")))
        }
    }

    fn transport_failure(&self, error: reqwest::Error) -> Failure {
        if error.is_builder() {
            return Failure::Permanent(format!("cannot build the request: {}", chain(&error)));
        }
        let message = if error.is_timeout() {
            format!("no response within {} s", self.settings.timeout_secs)
        } else if error.is_connect() {
            format!("cannot connect: {}", chain(&error.without_url()))
        } else {
            chain(&error.without_url())
        };
        Failure::Transient {
            message,
            wait: None,
        }
    }

    fn read_capped(&self, response: reqwest::blocking::Response) -> Result<Vec<u8>, Failure> {
        let max = self.settings.max_response_bytes;
        let too_large = || {
            Failure::Permanent(format!(
                "the response is larger than max_response_bytes = {max} bytes"
            ))
        };
        if response.content_length().is_some_and(|len| len > max) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        response
            .take(max.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| Failure::Transient {
                message: if e.kind() == std::io::ErrorKind::TimedOut
                    || chain(&e).contains("timed out")
                {
                    format!(
                        "the response stopped arriving within {} s",
                        self.settings.timeout_secs
                    )
                } else {
                    format!("reading the response failed: {}", chain(&e))
                },
                wait: None,
            })?;
        if body.len() as u64 > max {
            return Err(too_large());
        }
        Ok(body)
    }
}

/// The `rel="next"` target of RFC 8288 `Link` headers, resolved against `current`.
pub(crate) fn next_link(headers: &HeaderMap, current: &Url) -> Option<Url> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|text| http_link::parse_link_header(text, current).ok())
        .flatten()
        .find(|link| link.rel.eq_ignore_ascii_case("next"))
        .map(|link| link.target)
}

/// An error and its causes, `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Up to `max` bytes of a response body, for an error message.
fn read_prefix(response: reqwest::blocking::Response, max: u64) -> Vec<u8> {
    let mut body = Vec::new();
    // An error body that cannot be read still leaves the status to report.
    let _ = response.take(max).read_to_end(&mut body);
    body
}

/// What an error body says: a JSON API's `error.message` / `message` / `error` /
/// `detail`, or the start of the text.
fn error_detail(body: &[u8]) -> String {
    let said = match serde_json::from_slice::<Value>(body) {
        Ok(json) => [
            "error.message",
            "message",
            "error_description",
            "error",
            "detail",
        ]
        .iter()
        .find_map(|path| {
            crate::json::lookup(&json, path).and_then(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                Value::Object(_) | Value::Array(_) => Some(v.to_string()),
                _ => None,
            })
        })
        .unwrap_or_else(|| json.to_string()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let said = crate::json::snippet(&said, 300);
    if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    }
}

/// `Retry-After` as a wait from `now`: seconds, or an HTTP date (a date in the past
/// means now).
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    match text.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => {
            let at = httpdate::parse_http_date(text).ok()?;
            Some(at.duration_since(now).unwrap_or(Duration::ZERO))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_finds_next_among_several() {
        let current = Url::parse("https://api.example/v1/items?page=2").expect("url");
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://api.example/v1/items?page=1>; rel=\"prev first\", \
                 </v1/items?page=3&a=1,2>; title=\"x, y\"; rel=\"next\", \
                 <https://api.example/v1/items?page=9>; rel=last",
            ),
        );
        let next = next_link(&headers, &current).expect("next");
        assert_eq!(next.as_str(), "https://api.example/v1/items?page=3&a=1,2");
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://api.example/v1/items?page=1>; rel=\"prev\""),
        );
        assert!(next_link(&headers, &current).is_none());
    }

    #[test]
    fn shown_urls_hide_credentials_and_secret_parameters() {
        assert_eq!(
            display_url(
                "https://user:pw@data.example/api?province=%E0%B8%AA&api_key=abc&accessToken=x#f"
            ),
            "https://user:REDACTED@data.example/api?province=ส&api_key=REDACTED&accessToken=REDACTED"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(12));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_str(&later).expect("header"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(12)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(60));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_str(&earlier).expect("header"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("soon"),
        );
        assert_eq!(retry_after(&headers, now), None);
    }
}
