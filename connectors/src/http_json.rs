//! JSON records over HTTP(S) — agency REST APIs with their paging styles and
//! authentication — or from a local JSON file (a reference list saved as JSON).
//!
//! The HTTP client ([`crate::http`]) and the JSON rules ([`crate::json`]) are shared
//! with the CKAN source.
//!
//! Records are JSON objects. Nested objects are flattened into dotted column names
//! (`{"area": {"code": "90"}}` is column `area.code`); arrays stay as their JSON text.
//! The header is the union of the keys of the first page: the first record's keys in
//! alphabetical order (serde_json keeps objects sorted), then keys as later records bring
//! them. A later page that brings new keys extends the header: its records carry a new,
//! longer header (the pipeline re-checks a header whenever it changes) and earlier
//! records keep theirs, so no value is dropped silently. The header stops growing at
//! [`MAX_COLUMNS`]: a record that brings keys beyond it is a reject, so a source whose
//! records keep inventing keys cannot grow every row without bound. A page is held as
//! the JSON it came as, each record built when it is read.
//!
//! Positions name the configured URL with its `query`, without secrets or paging and
//! incremental parameters; `row` counts records across pages from 1.

use crate::http::{
    default_max_response_bytes, default_retries, default_timeout_secs, display_url, next_link,
    secret_from_env, Credentials, HttpClient, HttpSettings,
};
use crate::json::{kind_name, record_path, take_records, value_text};
use crate::{
    resolve, Cell, Header, LocalPath, OpenContext, Record, RecordStream, SecretVar, Source,
    SourceError, SourceItem,
};
use abe_schema::redact::{self, is_secret_name, REDACTED};
use abe_schema::{Reject, SourcePosition};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// Most columns a JSON source's header grows to: far more than any API's records have,
/// few enough that a record of every column stays small.
pub const MAX_COLUMNS: usize = 2_000;

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
    /// secrets in `auth` (`kind = "query_param"` for a key the API wants in the query),
    /// never here; connectors saved through the API may not have parameters whose names
    /// look secret (`api_key`, `token`, ...).
    #[serde(default)]
    pub query: BTreeMap<String, ParamValue>,
    /// Extra request headers, literal values (sent only to the host of `url`). Secrets go
    /// in `auth`; connectors saved through the API may not have headers whose names look
    /// secret (`Authorization`, `X-Api-Key`, `Cookie`, ...).
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
    /// An API key in a query parameter (`?api_key=...`), for APIs that take it there.
    QueryParam {
        /// Query parameter name.
        param: String,
        /// Variable holding the key.
        key_env: String,
    },
}

impl Auth {
    /// The environment variables it reads, with the config field naming each.
    fn variables(&self) -> Vec<SecretVar<'_>> {
        match self {
            Auth::Bearer { token_env } => vec![("auth.token_env", token_env)],
            Auth::ApiKey { key_env, .. } | Auth::QueryParam { key_env, .. } => {
                vec![("auth.key_env", key_env)]
            }
            Auth::Basic {
                user_env,
                password_env,
            } => vec![
                ("auth.user_env", user_env),
                ("auth.password_env", password_env),
            ],
        }
    }

    /// Reads the secrets and adds them to `credentials`.
    fn apply(&self, credentials: &mut Credentials) -> Result<(), SourceError> {
        match self {
            Auth::Bearer { token_env } => {
                let token = secret_from_env(token_env, "auth.token_env")?;
                credentials.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {token}"),
                    "auth.token_env",
                )?;
                credentials.secrets.push(token);
            }
            Auth::ApiKey { header, key_env } => {
                let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    SourceError::Config(format!(
                        "auth.header `{header}` is not an HTTP header name"
                    ))
                })?;
                let key = secret_from_env(key_env, "auth.key_env")?;
                credentials.header(name, key, "auth.key_env")?;
            }
            Auth::Basic {
                user_env,
                password_env,
            } => {
                let user = secret_from_env(user_env, "auth.user_env")?;
                let password = secret_from_env(password_env, "auth.password_env")?;
                credentials.secrets.push(password.clone());
                credentials.basic = Some((user, password));
            }
            Auth::QueryParam { param, key_env } => {
                if param.is_empty() {
                    return Err(SourceError::Config("auth.param is empty".into()));
                }
                let key = secret_from_env(key_env, "auth.key_env")?;
                credentials.secrets.push(key.clone());
                credentials.query.push((param.clone(), key));
            }
        }
        Ok(())
    }
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

    fn open_stream(&self, context: &OpenContext<'_>) -> Result<JsonStream, SourceError> {
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
            page: VecDeque::new(),
            page_index: 0,
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
        Ok(stream)
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
        let config_error =
            |what: String| SourceError::Config(format!("{}: {what}", display_url(base.as_str())));
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
        for (name, value) in &self.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(format!("`{name}` is not an HTTP header name")))?;
            let header_value = HeaderValue::from_str(value).map_err(|_| {
                config_error(format!("header `{name}` has a value HTTP cannot carry"))
            })?;
            headers.insert(header_name, header_value);
        }
        let mut credentials = Credentials {
            headers,
            ..Credentials::default()
        };
        if let Some(auth) = &self.auth {
            auth.apply(&mut credentials).map_err(|e| match e {
                SourceError::Config(what) => config_error(what),
                other => other,
            })?;
        }

        if !self.query.is_empty() {
            let mut pairs = base.query_pairs_mut();
            for (name, value) in &self.query {
                pairs.append_pair(name, &value.to_string());
            }
        }
        // Positions name the source without the incremental cursor, so that every run
        // records the same provenance.
        let position_file = display_url(base.as_str());
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
            &base,
            credentials,
            context.cancel.clone(),
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
                    url_without_query(trimmed)
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
                url_without_query(trimmed)
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
        let fetched = self
            .client
            .fetch(self.method.clone(), &url, self.body.as_ref())?;
        let shape_error = |reason: String| SourceError::Shape {
            path: self.client.show_url(&url),
            reason: self.client.redact(&reason),
        };
        let value = crate::json::parse(&fetched.body, "response").map_err(shape_error)?;
        let cursor = match &self.pagination {
            Pagination::Cursor { cursor_path, .. } => crate::json::lookup(&value, cursor_path)
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
    // Hashes compare two pages of one run, so the hasher need not be stable across runs.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for record in records {
        record.to_string().hash(&mut hasher);
    }
    hasher.finish()
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
    /// The current page's records not yet read, as the JSON they came as.
    page: VecDeque<Value>,
    /// Index in its page of the record read next.
    page_index: usize,
    /// 1-based index of the last record read, across pages.
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
                let value = crate::json::parse(&bytes, "file").map_err(shape_error)?;
                take_records(value, &self.records_path)
                    .map(Some)
                    .map_err(shape_error)
            }
        }
    }

    /// Starts a page: the header grows by the keys the page brings (up to
    /// [`MAX_COLUMNS`]), and its records wait to be read one by one.
    fn enqueue(&mut self, values: Vec<Value>) {
        let mut names = self.header.names().to_vec();
        let mut seen: HashSet<String> = names.iter().cloned().collect();
        let before = names.len();
        for value in &values {
            let Value::Object(map) = value else { continue };
            let mut keys = Vec::new();
            flat_keys(map, "", &mut keys);
            for key in keys {
                if names.len() >= MAX_COLUMNS {
                    break;
                }
                let key = abe_schema::thai::trim_thai(&key).to_string();
                if seen.insert(key.clone()) {
                    names.push(key);
                }
            }
        }
        if names.len() > before {
            self.header = Arc::new(Header::new(names));
        }
        self.page = values.into();
        self.page_index = 0;
    }

    /// The next record of the current page as an item.
    fn next_record(&mut self) -> Option<SourceItem> {
        let value = self.page.pop_front()?;
        let index = self.page_index;
        self.page_index += 1;
        self.row += 1;
        let position = SourcePosition::at_row(self.file.clone(), self.row);
        Some(match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                flatten(&map, "", &mut fields);
                self.record(position, fields)
            }
            other => SourceItem::Reject(Reject::new(
                position.with_column(record_path(&self.records_path, index)),
                Some(&other.to_string()),
                format!("the record is {}, not an object", kind_name(&other)),
            )),
        })
    }

    fn record(&self, position: SourcePosition, fields: Vec<(String, String)>) -> SourceItem {
        let mut cells = vec![None; self.header.names().len()];
        for (name, text) in fields {
            let Some(slot) = self
                .header
                .position(abe_schema::thai::trim_thai(&name))
                .and_then(|i| cells.get_mut(i))
            else {
                return SourceItem::Reject(Reject::new(
                    position.with_column(name),
                    Some(&text),
                    format!(
                        "the record brings keys beyond the limit of {MAX_COLUMNS} columns \
                         (records whose keys keep changing are not a table)"
                    ),
                ));
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
            if let Some(item) = self.next_record() {
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

/// Dotted names of an object's leaves, as [`flatten`] names them.
fn flat_keys(map: &serde_json::Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in map {
        let name = dotted(prefix, key);
        match value {
            Value::Object(inner) => flat_keys(inner, &name, out),
            _ => out.push(name),
        }
    }
}

/// Flattens an object into `(dotted name, cell text)` pairs.
fn flatten(map: &serde_json::Map<String, Value>, prefix: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in map {
        let name = dotted(prefix, key);
        match value {
            // serde_json refuses nesting deeper than 128, which bounds this recursion.
            Value::Object(inner) => flatten(inner, &name, out),
            other => out.push((name, value_text(other))),
        }
    }
}

fn dotted(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
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

/// A URL as written in a config, shown when it does not even parse: without any query.
fn url_without_query(raw: &str) -> String {
    raw.split(['?', '#']).next().unwrap_or(raw).to_string()
}

impl Source for HttpJsonConfig {
    /// Checks the config, reads the secrets and fetches the first page (or the file).
    fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        Ok(Box::new(self.open_stream(context)?))
    }

    fn local_paths(&self) -> Vec<LocalPath<'_>> {
        match Location::parse(&self.url) {
            Ok(Location::Web(_)) => Vec::new(),
            // A `file:` URL or an unreadable one is refused as a path outside the folder.
            _ => vec![("url", self.url.as_str())],
        }
    }

    fn secret_vars(&self) -> Vec<SecretVar<'_>> {
        self.auth.iter().flat_map(Auth::variables).collect()
    }

    fn literal_secrets(&self) -> Vec<String> {
        let mut found = Vec::new();
        if redact::url_has_secret(&self.url) {
            found.push("url".to_string());
        }
        for name in self.query.keys().filter(|n| is_secret_name(n)) {
            found.push(format!("query.{name}"));
        }
        for name in self.headers.keys().filter(|n| is_secret_name(n)) {
            found.push(format!("headers.{name}"));
        }
        if let Some(body) = &self.body {
            secret_keys_in(body, "body", &mut found);
        }
        found
    }

    fn redact(&mut self) {
        self.url = redact::url(&self.url);
        for (name, value) in self.query.iter_mut() {
            if is_secret_name(name) {
                *value = ParamValue::Text(REDACTED.into());
            }
        }
        for value in self.headers.values_mut() {
            *value = REDACTED.into();
        }
        if let Some(body) = &mut self.body {
            *body = Value::String(REDACTED.into());
        }
    }
}

/// Pushes the path (`body.auth.password`) of every key in `value` that names a secret.
fn secret_keys_in(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (name, inner) in fields {
                let inner_path = format!("{path}.{name}");
                if is_secret_name(name) {
                    found.push(inner_path);
                } else {
                    secret_keys_in(inner, &inner_path, found);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                secret_keys_in(item, &format!("{path}[{index}]"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: serde_json::Value) -> HttpJsonConfig {
        serde_json::from_value(value).expect("config")
    }

    #[test]
    fn literal_secrets_are_found_and_redacted() {
        let mut c = config(serde_json::json!({
            "url": "https://u:pw@api.example/v1?token=abc&province=90",
            "query": { "api_key": "k", "year": 2566 },
            "headers": { "X-Api-Key": "k", "Accept-Language": "th" },
            "auth": { "kind": "bearer", "token_env": "ABE_SECRET_T" }
        }));
        assert_eq!(
            c.literal_secrets(),
            ["url", "query.api_key", "headers.X-Api-Key"]
        );
        assert_eq!(c.secret_vars(), [("auth.token_env", "ABE_SECRET_T")]);
        c.redact();
        assert_eq!(
            c.url,
            "https://u:REDACTED@api.example/v1?token=REDACTED&province=90"
        );
        assert_eq!(c.query["api_key"], ParamValue::Text(REDACTED.into()));
        assert_eq!(c.query["year"], ParamValue::Integer(2566));
        assert!(c.headers.values().all(|v| v == REDACTED));
        let posted = config(serde_json::json!({
            "url": "https://api.example/v1#section",
            "method": "POST",
            "body": { "filters": [{ "province": 90 }], "client": { "client_secret": "s" } }
        }));
        assert_eq!(posted.literal_secrets(), ["body.client.client_secret"]);
        let plain = config(serde_json::json!({ "url": "https://api.example/v1?province=90#top" }));
        assert!(plain.literal_secrets().is_empty());
        assert!(plain.local_paths().is_empty());
        let file = config(serde_json::json!({ "url": "lists/provinces.json" }));
        assert_eq!(file.local_paths(), [("url", "lists/provinces.json")]);
    }

    #[test]
    fn records_whose_keys_keep_changing_stop_growing_the_header() {
        let dir = tempfile::tempdir().expect("dir");
        let records: Vec<Value> = (0..MAX_COLUMNS + 50)
            .map(|i| serde_json::json!({ "code": "90", format!("k{i}"): i }))
            .collect();
        std::fs::write(
            dir.path().join("wide.json"),
            serde_json::to_vec(&records).expect("json"),
        )
        .expect("write");
        let stream = HttpJsonConfig::new("wide.json")
            .open(&OpenContext::full(dir.path()))
            .expect("opens");
        let (mut read, mut rejected, mut widest) = (0, 0, 0);
        for item in stream {
            match item.expect("reads") {
                SourceItem::Record(r) => {
                    read += 1;
                    widest = widest.max(r.header.names().len());
                }
                SourceItem::Reject(r) => {
                    rejected += 1;
                    assert!(r.reason.contains("beyond the limit"), "{r}");
                }
            }
        }
        assert_eq!(widest, MAX_COLUMNS);
        assert_eq!(read, MAX_COLUMNS - 1, "`code` takes one column");
        assert_eq!(rejected, 51);
    }
}
