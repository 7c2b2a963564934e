//! Sources and the mapping language. A [`Source`] turns a file or service into a stream
//! of raw [`Record`]s that know their position; a [`mapping::Mapping`] turns records into
//! typed target rows or [`Reject`]s. Nothing here touches the hub's database.
//!
//! Each source kind is one module with its config struct and its [`Source`]
//! implementation, and one line of [`source_kinds!`] below. Shared pieces: the HTTP
//! client ([`http`]), JSON paths and cells ([`json`]), and the reader thread that
//! workbook and database readers run on.

pub mod ckan;
pub mod csv;
pub mod excel;
mod http;
pub mod http_json;
mod json;
pub mod mapping;
mod reader_thread;
mod record;
pub mod sql;

pub use record::{Cell, Header, Record};

use abe_schema::{Code, ErrorCode, Reject};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Most columns a table read from a file may have: Excel's own limit (XFD).
pub const MAX_COLUMNS: usize = 16_384;

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
    /// Reading was stopped on request (a preview whose caller left, a cancelled run).
    #[error("reading was stopped on request")]
    Cancelled,
}

impl ErrorCode for SourceError {
    fn error_code(&self) -> Code {
        match self {
            SourceError::Io { .. } => Code::SourceUnreadable,
            SourceError::Format { .. } | SourceError::Shape { .. } => Code::SourceInvalid,
            SourceError::Config(_) => Code::ConfigInvalid,
            SourceError::Cancelled => Code::Cancelled,
        }
    }
}

/// A local path a source reads, with the config field that names it.
pub type LocalPath<'a> = (&'static str, &'a str);

/// An environment variable a source reads a secret from, with the config field naming it.
pub type SecretVar<'a> = (&'static str, &'a str);

/// What every source kind does.
pub trait Source {
    /// Opens the source; errors found before the first record are returned here.
    fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError>;

    /// The local files it reads, as written in the config (relative to the base folder).
    fn local_paths(&self) -> Vec<LocalPath<'_>> {
        Vec::new()
    }

    /// The environment variables it reads secrets from.
    fn secret_vars(&self) -> Vec<SecretVar<'_>> {
        Vec::new()
    }

    /// Fields holding a secret written into the config itself (a password in a URL, a
    /// key in a query string, a credential header), by their path in the config.
    fn literal_secrets(&self) -> Vec<String> {
        Vec::new()
    }

    /// Replaces whatever may hold a secret with [`abe_schema::redact::REDACTED`], for
    /// callers who may see the definition but not its credentials.
    fn redact(&mut self) {}
}

/// Declares the source kinds: the config enum, tagged by `kind`, and the one dispatch
/// to each kind's [`Source`]. A new kind is a module and a line here.
macro_rules! source_kinds {
    ($($(#[$doc:meta])* $variant:ident($config:ty) = $word:literal;)+) => {
        /// Config of a source, tagged by `kind`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum SourceConfig {
            $($(#[$doc])* #[serde(rename = $word)] $variant($config)),+
        }

        impl SourceConfig {
            /// The kind word, as in the config.
            pub fn kind(&self) -> &'static str {
                match self { $(SourceConfig::$variant(_) => $word),+ }
            }

            /// The source behind the config.
            pub fn source(&self) -> &dyn Source {
                match self { $(SourceConfig::$variant(config) => config),+ }
            }

            fn source_mut(&mut self) -> &mut dyn Source {
                match self { $(SourceConfig::$variant(config) => config),+ }
            }
        }
    };
}

source_kinds! {
    /// A delimited text file.
    Csv(csv::CsvConfig) = "csv";
    /// A spreadsheet workbook (xlsx, xlsm, xls, xlsb, ods).
    Excel(excel::ExcelConfig) = "excel";
    /// JSON records from a web API (paged, authenticated) or a local JSON file.
    HttpJson(http_json::HttpJsonConfig) = "http_json";
    /// A CKAN DataStore resource, e.g. on data.go.th.
    Ckan(ckan::CkanConfig) = "ckan";
    /// A query against a PostgreSQL, MySQL/MariaDB or SQLite database.
    Sql(sql::SqlConfig) = "sql";
}

/// A flag that asks a read to stop: set when a preview's caller goes away or a run is
/// cancelled. Sources check it between records and while waiting to retry.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks the read to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the read should stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Sleeps for `duration` unless cancelled first; `false` when cancelled.
    pub fn sleep(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        while !self.is_cancelled() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        false
    }
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
    /// Set when the read should stop.
    pub cancel: &'a Cancel,
}

/// The cursor of an incremental run.
#[derive(Debug, Clone, Copy)]
pub struct Incremental<'a> {
    /// Source field (column, JSON key) whose value only grows.
    pub field: &'a str,
    /// The largest value loaded by the last successful run; `None` on the first run.
    pub after: Option<&'a str>,
}

/// The flag of contexts that are never cancelled.
static NEVER_CANCELLED: std::sync::LazyLock<Cancel> = std::sync::LazyLock::new(Cancel::default);

impl<'a> OpenContext<'a> {
    /// A context for a full read from `base_dir`.
    pub fn full(base_dir: &'a Path) -> Self {
        OpenContext {
            base_dir,
            incremental: None,
            expected_columns: &[],
            cancel: &NEVER_CANCELLED,
        }
    }
}

/// The prefix of environment variables that connectors saved through the API may read.
pub const API_SECRET_PREFIX: &str = "ABE_SECRET_";

/// Why a source is not allowed for a connector saved through the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfineError {
    /// A local path leads outside the data folder.
    #[error(
        "source.{field}: `{path}` is outside the hub's data folder; connectors saved through \
         the API read files only by a plain relative path below it"
    )]
    Outside {
        /// Config field.
        field: &'static str,
        /// The path as written.
        path: String,
    },
    /// A secret comes from a variable that is not an `ABE_SECRET_*` one.
    #[error(
        "source.{field}: `{var}` is not an {API_SECRET_PREFIX}* variable; connectors saved \
         through the API read secrets only from variables named so"
    )]
    SecretVariable {
        /// Config field.
        field: &'static str,
        /// The variable named.
        var: String,
    },
    /// A secret is written into the definition itself.
    #[error(
        "source.{field} holds a secret written into the definition; connectors saved through \
         the API take secrets only from {API_SECRET_PREFIX}* variables (see `auth` and `url_env`)"
    )]
    LiteralSecret {
        /// Config field path.
        field: String,
    },
}

impl ErrorCode for ConfineError {
    fn error_code(&self) -> Code {
        Code::BadInput
    }
}

impl SourceConfig {
    /// Holds a source to what a connector saved through the API may do: read local files
    /// only by a relative path below `base_dir` that stays there once symbolic links are
    /// followed (no absolute path, `..` step, `file:` URL, percent-encoded path or SQLite
    /// database elsewhere); read secrets only from environment variables named
    /// `ABE_SECRET_*`, so that the hub's own settings (`ABE_DATABASE_URL`,
    /// `ABE_ADMIN_TOKEN`) cannot be sent to a host of the definition's choosing; and
    /// hold no secret written into the definition. The config file, written by whoever
    /// runs the hub, is not held to this. Checked when a definition is saved and again
    /// before each read: a symbolic link may appear after the definition was saved.
    pub fn check_confined(&self, base_dir: &Path) -> Result<(), ConfineError> {
        let source = self.source();
        for (field, var) in source.secret_vars() {
            if !var.starts_with(API_SECRET_PREFIX) || var.len() == API_SECRET_PREFIX.len() {
                return Err(ConfineError::SecretVariable {
                    field,
                    var: var.to_string(),
                });
            }
        }
        if let Some(field) = source.literal_secrets().into_iter().next() {
            return Err(ConfineError::LiteralSecret { field });
        }
        self.check_paths(base_dir)
    }

    /// The path part of [`SourceConfig::check_confined`].
    fn check_paths(&self, base_dir: &Path) -> Result<(), ConfineError> {
        for (field, path) in self.source().local_paths() {
            // A `:` is a URL of another scheme (`file:`), a `%` an encoded character the
            // driver would decode (`%2F..`): neither is a plain relative path.
            let plain = stays_inside(path) && !path.contains([':', '%']);
            if !plain || !resolves_inside(base_dir, path) {
                return Err(ConfineError::Outside {
                    field,
                    path: path.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The definition with its credentials and secret-looking values replaced.
    pub fn redacted(&self) -> SourceConfig {
        let mut copy = self.clone();
        copy.source_mut().redact();
        copy
    }
}

/// Whether `path` stays inside the folder it is relative to: not absolute, no `..`.
/// Checked as written, untrimmed: what is checked is what is opened.
fn stays_inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Whether `path` below `base_dir` is still below it once symbolic links are resolved.
/// A path that does not exist yet is judged by its nearest existing folder; a link that
/// points nowhere is refused, since where it leads may be created later.
fn resolves_inside(base_dir: &Path, path: &str) -> bool {
    let Ok(base) = base_dir.canonicalize() else {
        return false;
    };
    let mut candidate = base_dir.join(path);
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = candidate.canonicalize() {
            let mut real = real;
            real.extend(rest.iter().rev());
            return real.starts_with(&base);
        }
        if candidate.symlink_metadata().is_ok() {
            return false;
        }
        match (
            candidate.file_name().map(ToOwned::to_owned),
            candidate.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                candidate = parent.to_path_buf();
            }
            _ => return false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(value: serde_json::Value) -> SourceConfig {
        serde_json::from_value(value).expect("source config")
    }

    #[test]
    fn confined_sources_read_only_below_the_base_folder() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("data")).expect("data");
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
            assert_eq!(
                source(inside.clone()).check_confined(dir.path()),
                Ok(()),
                "{inside}"
            );
        }
        for outside in [
            json!({"kind": "csv", "path": "/etc/passwd"}),
            json!({"kind": "csv", "path": "data/../../secret.csv"}),
            json!({"kind": "excel", "path": ".."}),
            json!({"kind": "http_json", "url": "file:///etc/hosts"}),
            json!({"kind": "sql", "url": "sqlite:///var/lib/other.db", "query": "SELECT 1"}),
        ] {
            let err = source(outside.clone())
                .check_confined(dir.path())
                .expect_err("refused");
            assert!(
                err.to_string().contains("outside the hub's data folder"),
                "{outside}: {err}"
            );
        }
    }

    #[test]
    fn a_symbolic_link_out_of_the_folder_is_outside() {
        let outer = tempfile::tempdir().expect("dir");
        let base = outer.path().join("base");
        std::fs::create_dir_all(base.join("data")).expect("base");
        std::fs::write(outer.path().join("secret.csv"), "a\n1\n").expect("secret");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outer.path().join("secret.csv"), base.join("data/x.csv"))
                .expect("link");
            std::os::unix::fs::symlink(outer.path(), base.join("up")).expect("dir link");
            // A link to a file not there yet could be made to lead anywhere later.
            std::os::unix::fs::symlink(outer.path().join("later.csv"), base.join("data/d.csv"))
                .expect("dangling link");
            for path in [
                "data/x.csv",
                "up/secret.csv",
                "up/not-yet.csv",
                "data/d.csv",
            ] {
                let err = source(json!({"kind": "csv", "path": path}))
                    .check_confined(&base)
                    .expect_err("refused");
                assert!(matches!(err, ConfineError::Outside { .. }), "{path}: {err}");
            }
        }
        std::fs::write(base.join("data/real.csv"), "a\n1\n").expect("real");
        assert_eq!(
            source(json!({"kind": "csv", "path": "data/real.csv"})).check_confined(&base),
            Ok(())
        );
    }

    #[test]
    fn secrets_written_into_a_definition_are_refused_naming_the_field() {
        let dir = tempfile::tempdir().expect("dir");
        for (definition, field) in [
            (
                json!({"kind": "sql", "url": "postgres://u:hunter2@db/x", "query": "SELECT 1"}),
                "source.url",
            ),
            (
                json!({"kind": "http_json", "url": "https://api.example/v1?api_key=abc"}),
                "source.url",
            ),
            (
                json!({"kind": "http_json", "url": "https://api.example/v1", "query": {"token": "abc"}}),
                "source.query.token",
            ),
            (
                json!({"kind": "http_json", "url": "https://api.example/v1", "headers": {"Authorization": "Bearer abc"}}),
                "source.headers.Authorization",
            ),
            (
                json!({"kind": "ckan", "base_url": "https://u:p@data.go.th", "resource_id": "x"}),
                "source.base_url",
            ),
        ] {
            let err = source(definition.clone())
                .check_confined(dir.path())
                .expect_err("refused");
            assert!(
                err.to_string()
                    .starts_with(&format!("{field} holds a secret")),
                "{definition}: {err}"
            );
        }
        let harmless = json!({"kind": "http_json", "url": "https://api.example/v1?province=90",
            "headers": {"Accept-Language": "th"}, "query": {"year": 2566}});
        assert_eq!(source(harmless).check_confined(dir.path()), Ok(()));
    }

    #[test]
    fn redacted_definitions_keep_their_shape_but_not_their_secrets() {
        let sql = source(
            json!({"kind": "sql", "url": "postgres://u:hunter2@db/x", "query": "SELECT secret FROM t"}),
        );
        let shown = serde_json::to_string(&sql.redacted()).expect("json");
        assert!(
            !shown.contains("hunter2") && !shown.contains("SELECT"),
            "{shown}"
        );
        assert!(shown.contains("postgres://u:REDACTED@db/x"), "{shown}");
        let csv = source(json!({"kind": "csv", "path": "data/a.csv"}));
        assert_eq!(csv.redacted(), csv);
    }
}
