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
