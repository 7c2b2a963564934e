//! Tables in a CKAN DataStore, as open-data portals such as data.go.th serve them:
//! `datastore_search` paged by `limit` and `offset`, columns as the DataStore declares
//! them (`result.fields`, without CKAN's own `_id`), values as text like
//! [`http_json`](crate::http_json), which also provides the HTTP client.
//!
//! Incremental runs sort by the cursor field ascending. `datastore_search` filters by
//! equality only, so the records at or below the cursor are still read; the pipeline
//! drops them.

use crate::http::{
    default_max_response_bytes, default_retries, default_timeout_secs, secret_from_env,
    Credentials, HttpClient, HttpSettings,
};
use crate::json::{kind_name, lookup, record_path, snippet, value_text};
use crate::{
    Cell, Header, OpenContext, Record, RecordStream, SecretVar, Source, SourceError, SourceItem,
};
use abe_schema::redact;
use abe_schema::{Reject, SourcePosition};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A DataStore resource of a CKAN portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CkanConfig {
    /// The portal's address, e.g. `https://data.go.th` (the API is under `/api/3/action`).
    pub base_url: String,
    /// The resource's id, as in the portal's resource page or API link.
    pub resource_id: String,
    /// Records per request, 1 to 32000 (CKAN's default ceiling); 1000 when absent.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Environment variable holding an API token, sent as the `Authorization` header;
    /// public resources need none.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Equality filters by field, sent as `datastore_search`'s JSON `filters`, e.g.
    /// `{ province = "สงขลา" }`; a list matches any of its values.
    #[serde(default)]
    pub filters: BTreeMap<String, Value>,
    /// Seconds to wait for a connection and for each response.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Largest response body accepted, in bytes.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: u64,
    /// Further attempts after a timeout, a connection error, HTTP 429 or a 5xx.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_page_size() -> u32 {
    1000
}

/// CKAN's default `ckan.datastore.search.rows_max`.
const MAX_PAGE_SIZE: u32 = 32_000;

impl CkanConfig {
    /// A config for one resource with every other option at its default.
    pub fn new(base_url: impl Into<String>, resource_id: impl Into<String>) -> Self {
        CkanConfig {
            base_url: base_url.into(),
            resource_id: resource_id.into(),
            page_size: default_page_size(),
            api_key_env: None,
            filters: BTreeMap::new(),
            timeout_secs: default_timeout_secs(),
            max_response_bytes: default_max_response_bytes(),
            retries: default_retries(),
        }
    }

    fn open_stream(&self, context: &OpenContext<'_>) -> Result<CkanStream, SourceError> {
        let base = self.base_url.trim().trim_end_matches('/');
        let lower = base.to_ascii_lowercase();
        let config_error = |what: &str| {
            SourceError::Config(format!(
                "CKAN {} resource `{}`: {what}",
                base.split(['?', '#']).next().unwrap_or(base),
                self.resource_id
            ))
        };
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(config_error("base_url must be an http:// or https:// URL"));
        }
        if self.resource_id.trim().is_empty() {
            return Err(config_error("resource_id is empty"));
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(config_error(&format!(
                "page_size must be 1 to {MAX_PAGE_SIZE}, not {}",
                self.page_size
            )));
        }
        let mut endpoint = Url::parse(&format!("{base}/api/3/action/datastore_search"))
            .map_err(|e| config_error(&format!("base_url is not a valid URL: {e}")))?;
        endpoint.set_query(None);
        endpoint
            .query_pairs_mut()
            .append_pair("resource_id", self.resource_id.trim());

        let mut credentials = Credentials::default();
        if let Some(var) = &self.api_key_env {
            let key = secret_from_env(var, "api_key_env")?;
            credentials
                .header(reqwest::header::AUTHORIZATION, key, "api_key_env")
                .map_err(|e| config_error(&e.to_string()))?;
        }
        let client = HttpClient::new(
            HttpSettings {
                timeout_secs: self.timeout_secs,
                retries: self.retries,
                max_response_bytes: self.max_response_bytes,
            },
            &endpoint,
            credentials,
            context.cancel.clone(),
        )
        .map_err(|e| match e {
            SourceError::Config(what) => config_error(&what),
            other => other,
        })?;

        let mut request = endpoint.clone();
        {
            let mut pairs = request.query_pairs_mut();
            pairs.append_pair("limit", &self.page_size.to_string());
            if !self.filters.is_empty() {
                let filters = serde_json::to_string(&self.filters)
                    .map_err(|e| config_error(&format!("filters: {e}")))?;
                pairs.append_pair("filters", &filters);
            }
            if let Some(incremental) = context.incremental {
                // Quoted, so Thai names and names with spaces sort as one identifier.
                pairs.append_pair(
                    "sort",
                    &format!("\"{}\" asc", incremental.field.replace('"', "")),
                );
            }
        }
        let mut stream = CkanStream {
            file: client.show_url(&endpoint),
            client,
            request,
            offset: 0,
            header: None,
            field_ids: Vec::new(),
            queue: VecDeque::new(),
            row: 0,
            finished: false,
        };
        // The first page is read now, so a wrong resource id fails the open.
        stream.fetch_page()?;
        Ok(stream)
    }
}

impl Source for CkanConfig {
    /// Checks the config, reads the API key and fetches the first page.
    fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        Ok(Box::new(self.open_stream(context)?))
    }

    fn secret_vars(&self) -> Vec<SecretVar<'_>> {
        self.api_key_env
            .iter()
            .map(|v| ("api_key_env", v.as_str()))
            .collect()
    }

    fn literal_secrets(&self) -> Vec<String> {
        if redact::url_has_secret(&self.base_url) {
            vec!["base_url".into()]
        } else {
            Vec::new()
        }
    }

    fn redact(&mut self) {
        self.base_url = redact::url(&self.base_url);
    }
}

struct CkanStream {
    client: HttpClient,
    /// `datastore_search` with resource, limit, filters and sort; the offset is added.
    request: Url,
    /// Position `file`: the endpoint with the resource id.
    file: String,
    offset: u64,
    /// From the first page's `result.fields`.
    header: Option<Arc<Header>>,
    /// The field ids as CKAN spells them (the header trims its names).
    field_ids: Vec<String>,
    queue: VecDeque<SourceItem>,
    row: u64,
    finished: bool,
}

impl CkanStream {
    /// Fetches the page at `offset` into the queue; marks the end.
    fn fetch_page(&mut self) -> Result<(), SourceError> {
        let mut url = self.request.clone();
        url.query_pairs_mut()
            .append_pair("offset", &self.offset.to_string());
        let fetched = self.client.fetch(reqwest::Method::GET, &url, None)?;
        let shape_error = |reason: String| SourceError::Shape {
            path: self.client.show_url(&url),
            reason: self.client.redact(&reason),
        };
        let mut response = crate::json::parse(&fetched.body, "response").map_err(shape_error)?;
        if response.get("success") == Some(&Value::Bool(false)) {
            let said = lookup(&response, "error.message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| lookup(&response, "error").map(|e| snippet(&e.to_string(), 300)))
                .unwrap_or_else(|| "no error message".into());
            return Err(shape_error(format!("CKAN refused the request: {said}")));
        }
        // CKAN 2.10 may estimate the total of a large table; only an exact one may end
        // the paging early, an estimate waits for the empty page.
        let estimated = lookup(&response, "result.total_was_estimated") == Some(&Value::Bool(true));
        let total = lookup(&response, "result.total")
            .and_then(Value::as_u64)
            .filter(|_| !estimated);
        if self.header.is_none() {
            let fields = lookup(&response, "result.fields")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    shape_error(
                        "no `result.fields`: is this a DataStore resource (one with a Data \
                         API), and the URL a CKAN portal?"
                            .into(),
                    )
                })?;
            let mut names = Vec::with_capacity(fields.len());
            for field in fields {
                match field.get("id").and_then(Value::as_str) {
                    Some("_id") => {}
                    Some(id) => {
                        names.push(id.to_string());
                        self.field_ids.push(id.to_string());
                    }
                    None => {
                        return Err(shape_error(format!(
                            "a `result.fields` entry has no id: {}",
                            snippet(&field.to_string(), 100)
                        )))
                    }
                }
            }
            self.header = Some(Arc::new(Header::new(names)));
        }
        let records = match response.pointer_mut("/result/records").map(Value::take) {
            Some(Value::Array(records)) => records,
            Some(Value::Null) => Vec::new(),
            Some(other) => {
                return Err(shape_error(format!(
                    "`result.records` is {}, not an array",
                    kind_name(&other)
                )))
            }
            None => return Err(shape_error("the response has no `result.records`".into())),
        };
        self.offset = self.offset.saturating_add(records.len() as u64);
        if records.is_empty() || total.is_some_and(|t| self.offset >= t) {
            self.finished = true;
        }
        let Some(header) = self.header.clone() else {
            return Ok(());
        };
        for (i, value) in records.into_iter().enumerate() {
            self.row += 1;
            let position = SourcePosition::at_row(self.file.clone(), self.row);
            let item = match value {
                Value::Object(map) => SourceItem::Record(Record {
                    position,
                    cells: self
                        .field_ids
                        .iter()
                        .map(|name| Cell::Text(map.get(name).map(value_text).unwrap_or_default()))
                        .collect(),
                    header: Arc::clone(&header),
                }),
                other => SourceItem::Reject(Reject::new(
                    position.with_column(record_path("result.records", i)),
                    Some(&other.to_string()),
                    format!("the record is {}, not an object", kind_name(&other)),
                )),
            };
            self.queue.push_back(item);
        }
        Ok(())
    }
}

impl Iterator for CkanStream {
    type Item = Result<SourceItem, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            if self.finished {
                return None;
            }
            if let Err(e) = self.fetch_page() {
                self.finished = true;
                return Some(Err(e));
            }
        }
    }
}
