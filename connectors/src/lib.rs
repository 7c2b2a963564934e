//! Sources and the mapping language. A [`Source`] turns a file or service into a stream
//! of raw [`Record`]s that know their position; a [`mapping::Mapping`] turns records into
//! unified rows or [`Reject`]s. Nothing here touches the hub's database.

pub mod ckan;
pub mod csv;
pub mod excel;
pub mod http_json;
pub mod mapping;
mod record;
pub mod sql;

pub use record::{Cell, Header, Record};

use abe_schema::Reject;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One item a source yields: a record to map, or a row the source itself could not read
/// (ragged, undecodable) that becomes a reject without stopping the run.
#[derive(Debug)]
pub enum SourceItem {
    /// A readable row.
    Record(Record),
    /// A row refused while reading.
    Reject(Reject),
}

/// A stream of items; an `Err` is fatal for the run (the file cannot be read at all).
pub type RecordStream = Box<dyn Iterator<Item = Result<SourceItem, SourceError>> + Send>;

/// Why a source cannot be read at all. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File as written in the config.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not in the declared format (or is corrupt).
    #[error("{path} is not a readable {format}: {reason}")]
    Format {
        /// File as written in the config.
        path: String,
        /// Format the config declared, e.g. `xlsx workbook`.
        format: &'static str,
        /// What the reader said.
        reason: String,
    },
    /// The config asks for something the file does not have (a sheet, a header column).
    #[error("{path}: {reason}")]
    Shape {
        /// File as written in the config.
        path: String,
        /// What is missing, in words.
        reason: String,
    },
    /// The connector config itself is wrong.
    #[error("invalid connector config: {0}")]
    Config(String),
}

/// Config of a source, tagged by `kind`. A new kind is one module and one variant here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    /// A delimited text file.
    Csv(csv::CsvConfig),
    /// A spreadsheet workbook (xlsx, xlsm, xls, xlsb, ods).
    Excel(excel::ExcelConfig),
    /// JSON records from a web API (paged, authenticated) or a local JSON file.
    HttpJson(http_json::HttpJsonConfig),
    /// A CKAN DataStore resource, e.g. on data.go.th.
    Ckan(ckan::CkanConfig),
    /// A query against a PostgreSQL, MySQL/MariaDB or SQLite database.
    Sql(sql::SqlConfig),
}

/// What a run tells a source when it opens it.
#[derive(Debug, Clone, Copy)]
pub struct OpenContext<'a> {
    /// Folder that relative paths start from (the config file's folder).
    pub base_dir: &'a Path,
    /// For incremental runs: the cursor field and the last value loaded. Sources that
    /// can filter at the origin (an API parameter, a SQL `WHERE`) do; the pipeline
    /// also drops records at or below the cursor, so file sources need not.
    pub incremental: Option<Incremental<'a>>,
    /// Columns the mapping reads: a source that must find its header row (a workbook
    /// with title rows above the table) looks for the row that holds them.
    pub expected_columns: &'a [String],
}

/// The cursor of an incremental run.
#[derive(Debug, Clone, Copy)]
pub struct Incremental<'a> {
    /// Source field (column, JSON key) whose value only grows.
    pub field: &'a str,
    /// The largest value loaded by the last successful run; `None` on the first run.
    pub after: Option<&'a str>,
}

impl<'a> OpenContext<'a> {
    /// A context for a full read from `base_dir`.
    pub fn full(base_dir: &'a Path) -> Self {
        OpenContext {
            base_dir,
            incremental: None,
            expected_columns: &[],
        }
    }
}

impl SourceConfig {
    /// Opens the source.
    pub fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        match self {
            SourceConfig::Csv(config) => config.open(context.base_dir),
            SourceConfig::Excel(config) => config.open(context),
            SourceConfig::HttpJson(config) => config.open(context),
            SourceConfig::Ckan(config) => config.open(context),
            SourceConfig::Sql(config) => config.open(context),
        }
    }

    /// Holds a source to what a connector saved through the API may do: read local files
    /// only by a relative path below the base folder (no absolute path, `..` step,
    /// `file:` URL, percent-encoded path or SQLite database elsewhere), and read secrets
    /// only from environment variables named `ABE_SECRET_*`, so that the hub's own
    /// settings (`ABE_DATABASE_URL`, `ABE_ADMIN_TOKEN`) cannot be sent to a host of the
    /// definition's choosing. The config file, written by whoever runs the hub, is not
    /// held to this.
    pub fn check_confined(&self) -> Result<(), String> {
        for (field, var) in self.secret_vars() {
            if !var.starts_with(API_SECRET_PREFIX) || var.len() == API_SECRET_PREFIX.len() {
                return Err(format!(
                    "source.{field}: `{var}` is not an {API_SECRET_PREFIX}* variable; connectors \
                     saved through the API read secrets only from variables named so"
                ));
            }
        }
        let (field, path) = match self {
            SourceConfig::Csv(c) => ("path", c.path.as_str()),
            SourceConfig::Excel(c) => ("path", c.path.as_str()),
            SourceConfig::HttpJson(c) => {
                let lower = c.url.trim().to_ascii_lowercase();
                if lower.starts_with("http://") || lower.starts_with("https://") {
                    return Ok(());
                }
                ("url", c.url.as_str())
            }
            SourceConfig::Ckan(_) => return Ok(()),
            SourceConfig::Sql(c) => match c.url.as_deref() {
                Some(url) if url.trim().to_ascii_lowercase().starts_with("sqlite:") => {
                    let rest = &url.trim()["sqlite:".len()..];
                    let rest = rest.strip_prefix("//").unwrap_or(rest);
                    ("url", rest.split('?').next().unwrap_or(rest))
                }
                _ => return Ok(()),
            },
        };
        // A `:` is a URL of another scheme (`file:`), a `%` an encoded character the
        // driver would decode (`%2F..`): neither is a plain relative path.
        if stays_inside(path) && !path.contains([':', '%']) {
            Ok(())
        } else {
            Err(format!(
                "source.{field}: `{path}` is outside the hub's data folder; connectors saved \
                 through the API read files only by a plain relative path below it"
            ))
        }
    }

    /// The environment variables the source reads secrets from, with their fields.
    fn secret_vars(&self) -> Vec<(&'static str, &str)> {
        match self {
            SourceConfig::Csv(_) | SourceConfig::Excel(_) => Vec::new(),
            SourceConfig::HttpJson(c) => match &c.auth {
                Some(http_json::Auth::Bearer { token_env }) => vec![("auth.token_env", token_env)],
                Some(http_json::Auth::ApiKey { key_env, .. }) => vec![("auth.key_env", key_env)],
                Some(http_json::Auth::Basic {
                    user_env,
                    password_env,
                }) => vec![
                    ("auth.user_env", user_env.as_str()),
                    ("auth.password_env", password_env.as_str()),
                ],
                None => Vec::new(),
            },
            SourceConfig::Ckan(c) => c
                .api_key_env
                .iter()
                .map(|v| ("api_key_env", v.as_str()))
                .collect(),
            SourceConfig::Sql(c) => c.url_env.iter().map(|v| ("url_env", v.as_str())).collect(),
        }
    }

    /// The kind word, as in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Csv(_) => "csv",
            SourceConfig::Excel(_) => "excel",
            SourceConfig::HttpJson(_) => "http_json",
            SourceConfig::Ckan(_) => "ckan",
            SourceConfig::Sql(_) => "sql",
        }
    }
}

/// The prefix of environment variables that connectors saved through the API may read.
pub const API_SECRET_PREFIX: &str = "ABE_SECRET_";

/// Whether `path` stays inside the folder it is relative to: not absolute, no `..`.
fn stays_inside(path: &str) -> bool {
    let path = Path::new(path.trim());
    !path.as_os_str().is_empty()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

/// Resolves a config path against the config's folder.
pub(crate) fn resolve(base_dir: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// Folder of the public test files, beside the repository (`../shared/data`).
#[cfg(test)]
pub(crate) fn shared_data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(value: serde_json::Value) -> SourceConfig {
        serde_json::from_value(value).expect("source config")
    }

    #[test]
    fn confined_sources_read_only_below_the_base_folder() {
        use serde_json::json;
        for inside in [
            json!({"kind": "csv", "path": "data/lao.csv"}),
            json!({"kind": "excel", "path": "./book.xlsx"}),
            json!({"kind": "http_json", "url": "https://example.org/a.json"}),
            json!({"kind": "http_json", "url": "lists/provinces.json"}),
            json!({"kind": "ckan", "base_url": "https://data.go.th", "resource_id": "x"}),
            json!({"kind": "sql", "url": "sqlite://data/school.db?mode=ro", "query": "SELECT 1"}),
            json!({"kind": "sql", "url": "postgres://reader@db/x", "query": "SELECT 1"}),
            json!({"kind": "sql", "url_env": "ABE_SECRET_LAO_DB", "query": "SELECT 1"}),
            json!({"kind": "http_json", "url": "https://example.org/a",
                   "auth": {"kind": "basic", "user_env": "ABE_SECRET_U", "password_env": "ABE_SECRET_P"}}),
        ] {
            assert_eq!(source(inside.clone()).check_confined(), Ok(()), "{inside}");
        }
        for outside in [
            json!({"kind": "csv", "path": "/etc/passwd"}),
            json!({"kind": "csv", "path": "data/../../secret.csv"}),
            json!({"kind": "excel", "path": ".."}),
            json!({"kind": "http_json", "url": "file:///etc/hosts"}),
            json!({"kind": "sql", "url": "sqlite:///var/lib/other.db", "query": "SELECT 1"}),
        ] {
            let err = source(outside.clone())
                .check_confined()
                .expect_err("refused");
            assert!(
                err.contains("outside the hub's data folder"),
                "{outside}: {err}"
            );
        }
    }
}
