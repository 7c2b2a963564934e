//! JSON records over HTTP(S) — agency REST APIs with their paging styles and
//! authentication — or from a local JSON file (a reference list saved as JSON).
//!
//! This file also owns the HTTP plumbing that every web source shares ([`HttpClient`]:
//! timeouts, retries with backoff, a response size cap, secrets kept out of errors)
//! and the JSON-to-cell rules ([`value_text`]), so the CKAN source behaves the same.
//!
//! Records are JSON objects. Nested objects are flattened into dotted column names
//! (`{"area": {"code": "90"}}` is column `area.code`); arrays stay as their JSON text.
//! The header is the union of the keys of the first page: the first record's keys in
//! alphabetical order (serde_json keeps objects sorted), then keys as later records bring
//! them. A later page that brings new keys extends the header: its records carry a new,
//! longer header (the pipeline re-checks a header whenever it changes) and earlier
//! records keep theirs, so no value is dropped silently.
//!
//! Positions name the configured URL with its `query`, without secrets or paging and
//! incremental parameters; `row` counts records across pages from 1.

use crate::{resolve, Cell, Header, OpenContext, Record, RecordStream, SourceError, SourceItem};
use abe_schema::{Reject, SourcePosition};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// JSON records from a web API or a local file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpJsonConfig {
    /// Where the JSON is: an `http://` or `https://` URL, a `file://` URL, or a path
    /// relative to the config file's folder.
    pub url: String,
    /// HTTP method; `GET` when absent. Paging parameters always go in the query string.
    #[serde(default)]
    pub method: HttpMethod,
    /// JSON body sent with `POST`.
    #[serde(default)]
    pub body: Option<Value>,
    /// Extra query parameters, added to those already in `url`. Values are literal: put
    /// secrets in `auth`, never here.
    #[serde(default)]
    pub query: BTreeMap<String, ParamValue>,
    /// Extra request headers, literal values (sent only to the host of `url`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How to authenticate; secrets come from environment variables read at open time.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// Dotted path to the array of records in each response, e.g. `result.records`
    /// (a number steps into an array: `data.0.rows`). Empty: the response itself is the
    /// array. A `null` there counts as an empty page.
    #[serde(default)]
    pub records_path: String,
    /// How to ask for the next page; no paging when absent.
    #[serde(default)]
    pub pagination: Pagination,
    /// Most pages one run may read; a source still offering more after that is an
    /// "endless pagination" error rather than a run that never ends.
    #[serde(default = "default_max_pages")]
    pub max_pages: u64,
    /// For incremental runs: query parameter that carries the last loaded cursor value
    /// (e.g. `updated_after`). Without it the whole source is read and the pipeline
    /// drops the records at or below the cursor.
    #[serde(default)]
    pub incremental_param: Option<String>,
    /// Seconds to wait for a connection and for each response.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Largest response body (or file) accepted, in bytes.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: u64,
    /// Further attempts after a timeout, a connection error, HTTP 429 or a 5xx.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

/// The HTTP method of an [`HttpJsonConfig`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpMethod {
    /// `GET`.
    #[default]
    #[serde(rename = "GET", alias = "get")]
    Get,
    /// `POST`, with the config's `body` as JSON.
    #[serde(rename = "POST", alias = "post")]
    Post,
}

/// A query parameter value as TOML allows writing it: `page_size = 100` or `"100"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// Text, sent as is.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A decimal number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Text(t) => f.write_str(t),
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Authentication, tagged by `kind`. Each field names an environment variable holding
/// the secret, so secrets stay out of config files, logs and errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// Variable holding the token.
        token_env: String,
    },
    /// An API key in a header of the API's choosing.
    ApiKey {
        /// Header name; `X-API-Key` when absent.
        #[serde(default = "default_api_key_header")]
        header: String,
        /// Variable holding the key.
        key_env: String,
    },
    /// HTTP Basic authentication.
    Basic {
        /// Variable holding the user name.
        user_env: String,
        /// Variable holding the password.
        password_env: String,
    },
}

/// How the API pages its records, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request returns everything. (Variants without fields are written `{}` so
    /// that `deny_unknown_fields` also refuses a misplaced key next to their `kind`.)
    None {},
    /// Numbered pages: `?page=1`, `?page=2`, ... until a page is empty.
    Page {
        /// Query parameter of the page number; `page` when absent.
        #[serde(default = "default_page_param")]
        param: String,
        /// Number of the first page; 1 when absent.
        #[serde(default = "default_page_start")]
        start: u64,
        /// Query parameter of the page size, if the API takes one (with `size`).
        #[serde(default)]
        size_param: Option<String>,
        /// Page size to ask for (with `size_param`).
        #[serde(default)]
        size: Option<u64>,
    },
    /// Offset and limit: `?offset=0&limit=100`, then the offset grows by the records
    /// received, until a page is empty.
    Offset {
        /// Query parameter of the offset; `offset` when absent.
        #[serde(default = "default_offset_param")]
        offset_param: String,
        /// Query parameter of the page size; `limit` when absent.
        #[serde(default = "default_limit_param")]
        limit_param: String,
        /// Page size to ask for.
        limit: u64,
    },
    /// An opaque cursor in each response, sent back for the next page; the end is a
    /// missing, `null` or empty cursor, or one equal to the cursor just sent.
    Cursor {
        /// Dotted path of the next cursor in the response, e.g. `meta.next_cursor`.
        cursor_path: String,
        /// Query parameter that carries the cursor.
        param: String,
    },
    /// RFC 8288 `Link: <...>; rel="next"` response headers.
    LinkHeader {},
}

impl Default for Pagination {
    fn default() -> Self {
        Pagination::None {}
    }
}

fn default_max_pages() -> u64 {
    10_000
}

pub(crate) fn default_timeout_secs() -> u64 {
    30
}

pub(crate) fn default_max_response_bytes() -> u64 {
    50 * 1024 * 1024
}

pub(crate) fn default_retries() -> u32 {
    4
}

fn default_api_key_header() -> String {
    "X-API-Key".into()
}

fn default_page_param() -> String {
    "page".into()
}

fn default_page_start() -> u64 {
    1
}

fn default_offset_param() -> String {
    "offset".into()
}

fn default_limit_param() -> String {
    "limit".into()
}

impl HttpJsonConfig {
    /// A `GET` of `url` without paging or authentication, other options at defaults.
    pub fn new(url: impl Into<String>) -> Self {
        HttpJsonConfig {
            url: url.into(),
            method: HttpMethod::Get,
            body: None,
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            auth: None,
            records_path: String::new(),
            pagination: Pagination::None {},
            max_pages: default_max_pages(),
            incremental_param: None,
            timeout_secs: default_timeout_secs(),
            max_response_bytes: default_max_response_bytes(),
            retries: default_retries(),
        }
    }

    /// Checks the config, reads the secrets and fetches the first page (or the file).
    pub fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        let origin = match Location::parse(&self.url)? {
            Location::File(path) => {
                self.check_file_options()?;
                Origin::File {
                    path: resolve(context.base_dir, &path),
                    pending: true,
                }
            }
            Location::Web(url) => Origin::Web(Box::new(self.web_pager(url, context)?)),
        };
        let shown = match &origin {
            Origin::File { .. } => self.url.clone(),
            Origin::Web(pager) => pager.position_file.clone(),
        };
        let mut stream = JsonStream {
            origin,
            file: shown,
            records_path: self.records_path.clone(),
            header: Arc::new(Header::new(Vec::new())),
            queue: VecDeque::new(),
            row: 0,
            finished: false,
            max_bytes: self.max_response_bytes,
        };
        // The first page is read now, so an unreachable or misconfigured source fails
        // the open rather than the first record.
        if let Some(values) = stream.next_page()? {
            stream.enqueue(values);
        } else {
            stream.finished = true;
        }
        Ok(Box::new(stream))
    }

    fn check_file_options(&self) -> Result<(), SourceError> {
        let mut web_only = Vec::new();
        if self.method != HttpMethod::Get {
            web_only.push("method");
        }
        if self.body.is_some() {
            web_only.push("body");
        }
        if !self.query.is_empty() {
            web_only.push("query");
        }
        if !self.headers.is_empty() {
            web_only.push("headers");
        }
        if self.auth.is_some() {
            web_only.push("auth");
        }
        if self.pagination != (Pagination::None {}) {
            web_only.push("pagination");
        }
        if self.incremental_param.is_some() {
            web_only.push("incremental_param");
        }
        if web_only.is_empty() {
            Ok(())
        } else {
            Err(SourceError::Config(format!(
                "{}: a local JSON file takes no {}",
                self.url,
                web_only.join(", ")
            )))
        }
    }

    fn web_pager(&self, mut base: Url, context: &OpenContext<'_>) -> Result<WebPager, SourceError> {
        let config_error = |what: String| {
            SourceError::Config(format!(
                "{}: {what}",
                show_url(&base_without_secrets(&base))
            ))
        };
        if self.max_pages == 0 {
            return Err(config_error("max_pages must be at least 1".into()));
        }
        if self.method == HttpMethod::Get && self.body.is_some() {
            return Err(config_error(
                "a body goes with method = \"POST\", not GET".into(),
            ));
        }
        match &self.pagination {
            Pagination::Page {
                param,
                size_param,
                size,
                ..
            } => {
                if param.is_empty() {
                    return Err(config_error("pagination.param is empty".into()));
                }
                match (size_param, size) {
                    (Some(_), None) | (None, Some(_)) => {
                        return Err(config_error(
                            "pagination.size_param and pagination.size go together".into(),
                        ))
                    }
                    (Some(p), Some(s)) if p.is_empty() || *s == 0 => {
                        return Err(config_error(
                            "pagination.size_param must be named and pagination.size positive"
                                .into(),
                        ))
                    }
                    _ => {}
                }
            }
            Pagination::Offset {
                offset_param,
                limit_param,
                limit,
            } => {
                if offset_param.is_empty() || limit_param.is_empty() || *limit == 0 {
                    return Err(config_error(
                        "pagination needs an offset_param, a limit_param and a positive limit"
                            .into(),
                    ));
                }
            }
            Pagination::Cursor { cursor_path, param } => {
                if cursor_path.is_empty() || param.is_empty() {
                    return Err(config_error(
                        "pagination needs a cursor_path and a param".into(),
                    ));
                }
            }
            Pagination::None {} | Pagination::LinkHeader {} => {}
        }

        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in &self.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(format!("`{name}` is not an HTTP header name")))?;
            let header_value = HeaderValue::from_str(value).map_err(|_| {
                config_error(format!("header `{name}` has a value HTTP cannot carry"))
            })?;
            headers.insert(header_name, header_value);
        }
        let mut secrets = Vec::new();
        if let Some(auth) = &self.auth {
            let (name, value) = auth_header(auth, &mut secrets).map_err(|e| match e {
                SourceError::Config(what) => config_error(what),
                other => other,
            })?;
            headers.insert(name, value);
        }

        if !self.query.is_empty() {
            let mut pairs = base.query_pairs_mut();
            for (name, value) in &self.query {
                pairs.append_pair(name, &value.to_string());
            }
        }
        // Positions name the source without the incremental cursor, so that every run
        // records the same provenance.
        let position_file = show_url(&base_without_secrets(&base));
        let config_error = |what: String| SourceError::Config(format!("{position_file}: {what}"));
        if let (Some(param), Some(after)) = (
            &self.incremental_param,
            context.incremental.and_then(|i| i.after),
        ) {
            base.query_pairs_mut().append_pair(param, after);
        }
        let client = HttpClient::new(
            HttpSettings {
                timeout_secs: self.timeout_secs,
                retries: self.retries,
                max_response_bytes: self.max_response_bytes,
            },
            secrets,
        )
        .map_err(|e| match e {
            SourceError::Config(what) => config_error(what),
            other => other,
        })?;
        let next = match &self.pagination {
            Pagination::Page { start, .. } => Next::Page(*start),
            Pagination::Offset { .. } => Next::Offset(0),
            Pagination::None {} | Pagination::Cursor { .. } | Pagination::LinkHeader {} => {
                Next::Url(base.clone())
            }
        };
        Ok(WebPager {
            position_file: client.redact(&position_file),
            client,
            method: match self.method {
                HttpMethod::Get => reqwest::Method::GET,
                HttpMethod::Post => reqwest::Method::POST,
            },
            base,
            headers,
            body: self.body.clone(),
            pagination: self.pagination.clone(),
            max_pages: self.max_pages,
            pages: 0,
            next,
            sent_cursor: None,
            last_page_hash: None,
        })
    }
}

/// Builds the authentication header, adding every secret it holds to `secrets`.
fn auth_header(
    auth: &Auth,
    secrets: &mut Vec<String>,
) -> Result<(HeaderName, HeaderValue), SourceError> {
    let (name, value) = match auth {
        Auth::Bearer { token_env } => {
            let token = secret_from_env(token_env, "auth.token_env")?;
            let value = format!("Bearer {token}");
            secrets.push(token);
            (reqwest::header::AUTHORIZATION, value)
        }
        Auth::ApiKey { header, key_env } => {
            let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                SourceError::Config(format!("auth.header `{header}` is not an HTTP header name"))
            })?;
            let key = secret_from_env(key_env, "auth.key_env")?;
            secrets.push(key.clone());
            (name, key)
        }
        Auth::Basic {
            user_env,
            password_env,
        } => {
            let user = secret_from_env(user_env, "auth.user_env")?;
            let password = secret_from_env(password_env, "auth.password_env")?;
            let encoded = base64(format!("{user}:{password}").as_bytes());
            secrets.push(password);
            secrets.push(encoded.clone());
            (reqwest::header::AUTHORIZATION, format!("Basic {encoded}"))
        }
    };
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        SourceError::Config(format!(
            "the secret in the environment variable named by {} holds characters an HTTP \
             header cannot carry",
            match auth {
                Auth::Bearer { .. } => "auth.token_env",
                Auth::ApiKey { .. } => "auth.key_env",
                Auth::Basic { .. } => "auth.user_env / auth.password_env",
            }
        ))
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// Reads a secret from the environment variable `var`, which the config names in
/// `field`. Errors name the variable, never a value.
pub(crate) fn secret_from_env(var: &str, field: &str) -> Result<String, SourceError> {
    match std::env::var(var) {
        Ok(value) if value.is_empty() => Err(SourceError::Config(format!(
            "environment variable `{var}` (named by {field}) is empty"
        ))),
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotPresent) => Err(SourceError::Config(format!(
            "environment variable `{var}` (named by {field}) is not set"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(SourceError::Config(format!(
            "environment variable `{var}` (named by {field}) is not valid Unicode"
        ))),
    }
}

/// Standard base64 with padding, for HTTP Basic credentials.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Where `url` points.
enum Location {
    File(String),
    Web(Url),
}

impl Location {
    fn parse(raw: &str) -> Result<Self, SourceError> {
        let trimmed = raw.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let url = Url::parse(trimmed).map_err(|e| {
                SourceError::Config(format!(
                    "url `{}` is not a valid URL: {e}",
                    show_url_text(trimmed)
                ))
            })?;
            Ok(Location::Web(url))
        } else if lower.starts_with("file:") {
            let path = Url::parse(trimmed)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .ok_or_else(|| {
                    SourceError::Config(format!(
                        "url `{trimmed}`: a file URL must be absolute (file:///folder/file.json); \
                         write a relative path without `file:`"
                    ))
                })?;
            Ok(Location::File(path.to_string_lossy().into_owned()))
        } else if trimmed.contains("://") {
            Err(SourceError::Config(format!(
                "url `{}`: only http, https and file URLs are read",
                show_url_text(trimmed)
            )))
        } else {
            Ok(Location::File(trimmed.to_string()))
        }
    }
}

/// What the next request is.
#[derive(Debug, Clone)]
enum Next {
    /// A URL to fetch as it is (the first page, a cursor page, a `Link` target).
    Url(Url),
    /// A numbered page.
    Page(u64),
    /// An offset.
    Offset(u64),
    /// A cursor from the previous response.
    Cursor(String),
    /// No more pages.
    Done,
}

struct WebPager {
    client: HttpClient,
    /// The configured URL with `query`, as positions show it.
    position_file: String,
    method: reqwest::Method,
    /// The configured URL with `query` and the incremental parameter.
    base: Url,
    /// Accept, the configured headers and authentication: only for `base`'s origin.
    headers: HeaderMap,
    body: Option<Value>,
    pagination: Pagination,
    max_pages: u64,
    pages: u64,
    next: Next,
    sent_cursor: Option<String>,
    last_page_hash: Option<u64>,
}

impl WebPager {
    fn request_url(&self) -> Option<Url> {
        let mut url = self.base.clone();
        match (&self.next, &self.pagination) {
            (Next::Done, _) => return None,
            (Next::Url(u), _) => return Some(u.clone()),
            (
                Next::Page(page),
                Pagination::Page {
                    param,
                    size_param,
                    size,
                    ..
                },
            ) => {
                set_query_param(&mut url, param, &page.to_string());
                if let (Some(size_param), Some(size)) = (size_param, size) {
                    set_query_param(&mut url, size_param, &size.to_string());
                }
            }
            (
                Next::Offset(offset),
                Pagination::Offset {
                    offset_param,
                    limit_param,
                    limit,
                },
            ) => {
                set_query_param(&mut url, offset_param, &offset.to_string());
                set_query_param(&mut url, limit_param, &limit.to_string());
            }
            (Next::Cursor(cursor), Pagination::Cursor { param, .. }) => {
                set_query_param(&mut url, param, cursor);
            }
            // Each pagination kind only ever sets its own `Next`.
            _ => return None,
        }
        Some(url)
    }

    /// Fetches the next page; `None` when there is none.
    fn next_page(&mut self, records_path: &str) -> Result<Option<Vec<Value>>, SourceError> {
        let Some(url) = self.request_url() else {
            return Ok(None);
        };
        if self.pages >= self.max_pages {
            return Err(SourceError::Shape {
                path: self.position_file.clone(),
                reason: format!(
                    "endless pagination: the source still offers a next page ({}) after \
                     max_pages = {} pages; raise max_pages if it really is that large",
                    self.client.show_url(&url),
                    self.max_pages
                ),
            });
        }
        self.pages += 1;
        // Credentials and configured headers stay with the configured host: a `Link`
        // may point anywhere.
        let headers = if url.origin() == self.base.origin() {
            self.headers.clone()
        } else {
            let mut plain = HeaderMap::new();
            plain.insert(
                reqwest::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
            plain
        };
        let fetched = self
            .client
            .fetch(self.method.clone(), &url, &headers, self.body.as_ref())?;
        let shape_error = |reason: String| SourceError::Shape {
            path: self.client.show_url(&url),
            reason: self.client.redact(&reason),
        };
        let value = parse_json(&fetched.body, "response").map_err(shape_error)?;
        let cursor = match &self.pagination {
            Pagination::Cursor { cursor_path, .. } => lookup(&value, cursor_path)
                .map(|c| match c {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    Value::Null => Ok(String::new()),
                    other => Err(shape_error(format!(
                        "the cursor at `{cursor_path}` is {}, not a string or number",
                        kind_name(other)
                    ))),
                })
                .transpose()?,
            _ => None,
        };
        let records = take_records(value, records_path).map_err(shape_error)?;
        self.next = if records.is_empty() {
            Next::Done
        } else {
            match &self.pagination {
                Pagination::None {} => Next::Done,
                Pagination::Page { .. } | Pagination::Offset { .. } => {
                    let hash = page_hash(&records);
                    if self.last_page_hash == Some(hash) {
                        // Some APIs answer any page past the end with the last one.
                        tracing::warn!(
                            url = %self.client.show_url(&url),
                            "page repeats the previous page exactly; taking it as the end"
                        );
                        self.last_page_hash = None;
                        self.next = Next::Done;
                        return Ok(Some(Vec::new()));
                    }
                    self.last_page_hash = Some(hash);
                    match self.next {
                        Next::Page(page) => Next::Page(page.saturating_add(1)),
                        Next::Offset(offset) => {
                            Next::Offset(offset.saturating_add(records.len() as u64))
                        }
                        _ => Next::Done,
                    }
                }
                Pagination::Cursor { .. } => match cursor {
                    Some(c) if !c.is_empty() && self.sent_cursor.as_deref() != Some(&c) => {
                        self.sent_cursor = Some(c.clone());
                        Next::Cursor(c)
                    }
                    _ => Next::Done,
                },
                Pagination::LinkHeader {} => match next_link(&fetched.headers, &url) {
                    Some(link) if link != url => Next::Url(link),
                    _ => Next::Done,
                },
            }
        };
        Ok(Some(records))
    }
}

/// Replaces (or adds) one query parameter.
fn set_query_param(url: &mut Url, name: &str, value: &str) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(name, value);
}

fn page_hash(records: &[Value]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for record in records {
        record.to_string().hash(&mut hasher);
    }
    hasher.finish()
}

/// The `rel="next"` target of RFC 8288 `Link` headers, resolved against `current`.
fn next_link(headers: &HeaderMap, current: &Url) -> Option<Url> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let close = after.find('>')?;
            let target = &after[..close];
            let params_and_more = &after[close + 1..];
            // Parameters run to the next link, which starts after a comma outside quotes.
            let mut in_quotes = false;
            let mut end = params_and_more.len();
            for (i, c) in params_and_more.char_indices() {
                match c {
                    '"' => in_quotes = !in_quotes,
                    ',' if !in_quotes => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let params = &params_and_more[..end];
            let is_next = params.split(';').any(|param| {
                let mut kv = param.splitn(2, '=');
                let key = kv.next().unwrap_or("").trim();
                let value = kv.next().unwrap_or("").trim().trim_matches('"');
                key.eq_ignore_ascii_case("rel")
                    && value
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return current.join(target.trim()).ok();
            }
            rest = &params_and_more[end..];
        }
    }
    None
}

enum Origin {
    File { path: PathBuf, pending: bool },
    Web(Box<WebPager>),
}

struct JsonStream {
    origin: Origin,
    /// Position `file`: the URL without secrets, or the path as configured.
    file: String,
    records_path: String,
    header: Arc<Header>,
    queue: VecDeque<SourceItem>,
    /// 1-based index of the last record queued, across pages.
    row: u64,
    finished: bool,
    max_bytes: u64,
}

impl JsonStream {
    fn next_page(&mut self) -> Result<Option<Vec<Value>>, SourceError> {
        match &mut self.origin {
            Origin::Web(pager) => pager.next_page(&self.records_path),
            Origin::File { path, pending } => {
                if !*pending {
                    return Ok(None);
                }
                *pending = false;
                let bytes = read_file_capped(path, self.max_bytes).map_err(|e| match e {
                    FileError::Io(source) => SourceError::Io {
                        path: self.file.clone(),
                        source,
                    },
                    FileError::TooLarge => SourceError::Shape {
                        path: self.file.clone(),
                        reason: format!(
                            "the file is larger than max_response_bytes = {} bytes",
                            self.max_bytes
                        ),
                    },
                })?;
                let shape_error = |reason: String| SourceError::Shape {
                    path: self.file.clone(),
                    reason,
                };
                let value = parse_json(&bytes, "file").map_err(shape_error)?;
                take_records(value, &self.records_path)
                    .map(Some)
                    .map_err(shape_error)
            }
        }
    }

    /// Turns a page into queued items, extending the header with keys it has not seen.
    fn enqueue(&mut self, values: Vec<Value>) {
        let first_row = self.row + 1;
        let mut flat_records = Vec::with_capacity(values.len());
        for value in values {
            match value {
                Value::Object(map) => {
                    let mut fields = Vec::with_capacity(map.len());
                    flatten(&map, "", &mut fields);
                    flat_records.push(Ok(fields));
                }
                other => flat_records.push(Err(other)),
            }
        }
        let mut new_names = Vec::new();
        let mut seen = HashSet::new();
        for fields in flat_records.iter().filter_map(|r| r.as_ref().ok()) {
            for (name, _) in fields {
                let name = abe_schema::thai::trim_thai(name);
                if self.header.position(name).is_none() && seen.insert(name.to_string()) {
                    new_names.push(name.to_string());
                }
            }
        }
        if !new_names.is_empty() {
            let mut names = self.header.names().to_vec();
            names.extend(new_names);
            self.header = Arc::new(Header::new(names));
        }
        let width = self.header.names().len();
        for (i, flat) in flat_records.into_iter().enumerate() {
            self.row = first_row + i as u64;
            let position = SourcePosition {
                file: self.file.clone(),
                sheet: None,
                row: Some(self.row),
                column: None,
            };
            let item = match flat {
                Err(value) => SourceItem::Reject(Reject::new(
                    position.with_column(json_path(&self.records_path, i)),
                    Some(&value.to_string()),
                    format!("the record is {}, not an object", kind_name(&value)),
                )),
                Ok(fields) => self.record(position, width, fields),
            };
            self.queue.push_back(item);
        }
    }

    fn record(
        &self,
        position: SourcePosition,
        width: usize,
        fields: Vec<(String, String)>,
    ) -> SourceItem {
        let mut cells = vec![None; width];
        for (name, text) in fields {
            let Some(slot) = self
                .header
                .position(abe_schema::thai::trim_thai(&name))
                .and_then(|i| cells.get_mut(i))
            else {
                continue;
            };
            if slot.is_some() {
                return SourceItem::Reject(Reject::new(
                    position.with_column(name.clone()),
                    Some(&text),
                    format!(
                        "two keys of the record become column `{name}` (a nested key \
                         and a dotted key, or names that differ only in spaces)"
                    ),
                ));
            }
            *slot = Some(Cell::Text(text));
        }
        SourceItem::Record(Record {
            position,
            header: Arc::clone(&self.header),
            cells: cells
                .into_iter()
                .map(|c| c.unwrap_or_else(Cell::empty))
                .collect(),
        })
    }
}

impl Iterator for JsonStream {
    type Item = Result<SourceItem, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            if self.finished {
                return None;
            }
            match self.next_page() {
                Ok(Some(values)) => self.enqueue(values),
                Ok(None) => self.finished = true,
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// `$.records_path[index]`, the JSON path of a record in its page.
pub(crate) fn json_path(records_path: &str, index: usize) -> String {
    if records_path.is_empty() {
        format!("$[{index}]")
    } else {
        format!("$.{records_path}[{index}]")
    }
}

/// Flattens an object into `(dotted name, cell text)` pairs.
fn flatten(map: &serde_json::Map<String, Value>, prefix: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in map {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            // serde_json refuses nesting deeper than 128, which bounds this recursion.
            Value::Object(inner) => flatten(inner, &name, out),
            other => out.push((name, value_text(other))),
        }
    }
}

/// The cell text of a JSON value: strings as they are, numbers as JSON writes them,
/// booleans `true`/`false`, `null` empty, arrays and objects as compact JSON.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

/// `object`, `array`, `string`, ... for messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a JSON document; `what` is "response" or "file" for the message.
pub(crate) fn parse_json(bytes: &[u8], what: &str) -> Result<Value, String> {
    // Files saved by Windows tools often start with a UTF-8 byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| {
        let text = String::from_utf8_lossy(bytes);
        if text.trim().is_empty() {
            format!("{what} is empty, not JSON")
        } else {
            format!(
                "{what} is not JSON (starts with `{}`): {e}",
                snippet(&text, 40)
            )
        }
    })
}

/// The first `max` characters of `text` on one line, with `…` when cut.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        let mut cut: String = one_line.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        one_line
    }
}

/// Steps along a dotted path; a number steps into an array.
pub(crate) fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.')
        .try_fold(value, |current, segment| match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// Takes the record array at `path` out of a response.
pub(crate) fn take_records(mut value: Value, path: &str) -> Result<Vec<Value>, String> {
    let mut current = &mut value;
    let mut walked: Vec<&str> = Vec::new();
    if !path.is_empty() {
        for segment in path.split('.') {
            let found = match current {
                Value::Object(map) => map.get_mut(segment),
                Value::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(move |i| items.get_mut(i)),
                _ => None,
            };
            current = match found {
                Some(next) => next,
                None => {
                    return Err(format!(
                        "records_path `{path}`: there is no `{segment}` in {}",
                        if walked.is_empty() {
                            "the top-level value".to_string()
                        } else {
                            format!("`{}`", walked.join("."))
                        }
                    ))
                }
            };
            walked.push(segment);
        }
    }
    match current.take() {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other if path.is_empty() => Err(format!(
            "the top-level value is not an array (found {}); set records_path to the \
             path of the record array",
            kind_name(&other)
                .trim_start_matches("an ")
                .trim_start_matches("a ")
        )),
        other => Err(format!(
            "records_path `{path}` is not an array (found {})",
            kind_name(&other)
                .trim_start_matches("an ")
                .trim_start_matches("a ")
        )),
    }
}

enum FileError {
    Io(std::io::Error),
    TooLarge,
}

fn read_file_capped(path: &std::path::Path, max: u64) -> Result<Vec<u8>, FileError> {
    let file = std::fs::File::open(path).map_err(FileError::Io)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge);
    }
    Ok(bytes)
}

/// Query parameter names whose values are hidden wherever a URL is shown.
const SECRET_PARAM_WORDS: [&str; 8] = [
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "auth",
    "credential",
];

/// The URL without user info, fragment, or values of secret-looking query parameters.
fn base_without_secrets(url: &Url) -> Url {
    let mut shown = url.clone();
    // Both calls only fail for URLs that cannot have credentials, which then have none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_fragment(None);
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = shown
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = SECRET_PARAM_WORDS.iter().any(|w| lower.contains(w));
                (
                    k.into_owned(),
                    if secret {
                        "REDACTED".to_string()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown
}

/// A URL for people: without secrets, and with Thai and other text decoded.
fn show_url(url: &Url) -> String {
    let text = url.as_str();
    let mut bytes = Vec::with_capacity(text.len());
    let raw = text.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let decoded = (raw[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            // Only non-ASCII bytes are decoded, so `&`, `=` and spaces stay escaped.
            .filter(|b| *b >= 0x80);
        match decoded {
            Some(b) => {
                bytes.push(b);
                i += 3;
            }
            None => {
                bytes.push(raw[i]);
                i += 1;
            }
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => text.to_string(),
    }
}

/// A URL as written in a config, shown when it does not even parse: without any query.
fn show_url_text(raw: &str) -> String {
    raw.split(['?', '#']).next().unwrap_or(raw).to_string()
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

/// A response that came back 2xx, body read within the size cap.
pub(crate) struct Fetched {
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
}

/// A blocking HTTP client with the hub's rules: timeouts, retries with exponential
/// backoff and jitter on timeouts, connection errors, 429 and 5xx, a size cap, redirects
/// only within the host, and errors that name the URL but never a secret.
pub(crate) struct HttpClient {
    client: reqwest::blocking::Client,
    settings: HttpSettings,
    /// Secret values (tokens, keys, passwords) scrubbed from every message.
    secrets: Vec<String>,
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

impl HttpClient {
    /// A client; it must be built and used outside an async context (the pipeline
    /// reads sources inside `spawn_blocking`).
    pub(crate) fn new(settings: HttpSettings, secrets: Vec<String>) -> Result<Self, SourceError> {
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
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
        })
    }

    /// `text` with every secret value replaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "[secret]");
            }
        }
        text
    }

    /// `url` as positions and errors show it.
    pub(crate) fn show_url(&self, url: &Url) -> String {
        self.redact(&show_url(&base_without_secrets(url)))
    }

    /// Sends a request, retrying transient failures, and returns a 2xx response.
    pub(crate) fn fetch(
        &self,
        method: reqwest::Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&Value>,
    ) -> Result<Fetched, SourceError> {
        let attempts = self.settings.retries.saturating_add(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (message, wait) = match self.attempt(&method, url, headers, body) {
                Ok(fetched) => return Ok(fetched),
                Err(Failure::Permanent(message)) => return Err(self.error(url, message)),
                Err(Failure::Transient { message, wait }) => (message, wait),
            };
            if attempt >= attempts {
                let tries = if attempts == 1 {
                    "1 attempt, retries = 0".to_string()
                } else {
                    format!("gave up after {attempts} attempts")
                };
                return Err(self.error(url, format!("{message} ({tries})")));
            }
            let delay = wait.map_or_else(|| backoff(attempt), |w| w.min(BACKOFF_CAP));
            tracing::warn!(
                url = %self.show_url(url),
                attempt,
                of = attempts,
                delay_ms = delay.as_millis() as u64,
                "{}; retrying",
                self.scrub(url, &message)
            );
            std::thread::sleep(delay);
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
        self.redact(&message.replace(url.as_str(), &show_url(&base_without_secrets(url))))
    }

    fn attempt(
        &self,
        method: &reqwest::Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&Value>,
    ) -> Result<Fetched, Failure> {
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .headers(headers.clone());
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
                .map_or_else(
                    || "nowhere".to_string(),
                    |l| show_url(&base_without_secrets(&l)),
                );
            return Err(Failure::Permanent(format!(
                "HTTP {status}: redirected to {location}, another host or plain http, which \
                 is not followed so credentials stay with the configured host; put the \
                 final address in the config"
            )));
        }
        let detail = error_detail(&read_prefix(response, 4096));
        let message = format!("HTTP {status}{detail}");
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(Failure::Transient {
                message,
                wait: retry_after(&response_headers),
            })
        } else if status.is_server_error() {
            Err(Failure::Transient {
                message,
                wait: None,
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
            lookup(&json, path).and_then(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                Value::Object(_) | Value::Array(_) => Some(v.to_string()),
                _ => None,
            })
        })
        .unwrap_or_else(|| json.to_string()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let said = snippet(&said, 300);
    if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    }
}

/// `Retry-After` in seconds (the HTTP-date form falls back to backoff).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Wait before retry `attempt` (1-based): base × 2^(attempt−1) capped, then "equal
/// jitter" — half fixed, half random — so parallel runs do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let exponential = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    let half = exponential / 2;
    half + half.mul_f64(jitter())
}

/// A number in [0, 1) without a random-number crate: `RandomState` is seeded randomly
/// per instance, and the clock adds variation between calls.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let hash = std::collections::hash_map::RandomState::new().hash_one(nanos);
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

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
        let url = Url::parse(
            "https://user:pw@data.example/api?province=%E0%B8%AA&api_key=abc&accessToken=x#f",
        )
        .expect("url");
        let shown = show_url(&base_without_secrets(&url));
        assert_eq!(
            shown,
            "https://data.example/api?province=ส&api_key=REDACTED&accessToken=REDACTED"
        );
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            let full = BACKOFF_BASE
                .saturating_mul(1u32 << (attempt - 1).min(16))
                .min(BACKOFF_CAP);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn records_path_walks_objects_and_array_indices() {
        let value: Value =
            serde_json::from_str(r#"{"data":[{"rows":[1,2]}],"x":{"y":null}}"#).expect("json");
        assert_eq!(
            take_records(value.clone(), "data.0.rows")
                .expect("rows")
                .len(),
            2
        );
        assert!(take_records(value.clone(), "x.y").expect("null").is_empty());
        let err = take_records(value.clone(), "data.1.rows").expect_err("missing");
        assert!(err.contains("no `1` in `data`"), "{err}");
        let err = take_records(value, "x").expect_err("object");
        assert_eq!(err, "records_path `x` is not an array (found object)");
    }
}
