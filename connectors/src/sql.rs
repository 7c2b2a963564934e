//! Rows from another agency's database: PostgreSQL, MySQL/MariaDB or SQLite, through
//! sqlx. The configured query is wrapped so that every column arrives as text (the
//! database writes its own numbers and dates), an incremental run asks the database
//! for the rows past its cursor, and rows stream from a reader thread in batches.

use crate::reader_thread::{Feed, Next, ReaderThread};
use crate::{
    resolve, Cell, Header, LocalPath, OpenContext, Record, RecordStream, SecretVar, Source,
    SourceError, SourceItem,
};
use abe_schema::redact::{self, REDACTED};
use abe_schema::{Reject, SourcePosition};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Column, ConnectOptions, Executor, Row, Statement, TypeInfo};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Rows per message from the reader thread.
const BATCH_ROWS: usize = 1_000;

/// A query against a database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// Connection URL without a password: `postgres://reader@host/db`,
    /// `mysql://reader@host/db`, `sqlite://data/school.db` (relative to the config's
    /// folder; opened read-only). A URL with a password belongs in `url_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Name of the environment variable holding the connection URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The query. Each column it returns is a column of the records, read as text.
    pub query: String,
    /// Seconds to wait for the connection (default 30).
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
}

fn default_connect_timeout_secs() -> u64 {
    30
}

/// The database kinds, by URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Postgres,
    MySql,
    Sqlite,
}

impl Engine {
    fn of(url: &str) -> Option<Engine> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(Engine::Postgres),
            "mysql" | "mariadb" => Some(Engine::MySql),
            "sqlite" => Some(Engine::Sqlite),
            _ => None,
        }
    }

    fn quote(self, identifier: &str) -> String {
        match self {
            Engine::MySql => format!("`{}`", identifier.replace('`', "``")),
            Engine::Postgres | Engine::Sqlite => format!("\"{}\"", identifier.replace('"', "\"\"")),
        }
    }

    fn as_text(self, column: &str) -> String {
        match self {
            Engine::MySql => format!("CAST(src.{} AS CHAR)", self.quote(column)),
            Engine::Postgres | Engine::Sqlite => {
                format!("CAST(src.{} AS TEXT)", self.quote(column))
            }
        }
    }
}

/// A cursor value bound in the database's terms.
#[derive(Debug, Clone)]
enum CursorValue {
    Integer(i64),
    Real(f64),
    Text(String),
}

impl CursorValue {
    /// SQLite compares by storage class (every integer sorts below every text), so a
    /// cursor of a numeric column is bound as the number it spells; a text column's
    /// cursor stays text ("0042" must not become 42). A column of no declared type
    /// (an expression) takes the number when the text spells one.
    fn for_sqlite(text: &str, column_type: &str) -> CursorValue {
        let declared = column_type.to_ascii_uppercase();
        let numeric = ["INT", "REAL", "FLOA", "DOUB", "NUM", "DEC"]
            .iter()
            .any(|t| declared.contains(t));
        let untyped = declared.is_empty() || declared == "NULL";
        if !(numeric || untyped) {
            return CursorValue::Text(text.to_string());
        }
        if let Ok(i) = text.parse() {
            CursorValue::Integer(i)
        } else if let Some(f) = text.parse::<f64>().ok().filter(|f| f.is_finite()) {
            CursorValue::Real(f)
        } else {
            CursorValue::Text(text.to_string())
        }
    }
}

impl SqlConfig {
    /// A config running `query` against the database at `url`.
    pub fn new(url: impl Into<String>, query: impl Into<String>) -> Self {
        SqlConfig {
            url: Some(url.into()),
            url_env: None,
            query: query.into(),
            connect_timeout_secs: default_connect_timeout_secs(),
        }
    }

    /// The connection URL, and a label for errors and positions that carries no
    /// credentials.
    fn url_and_label(&self) -> Result<(String, String), SourceError> {
        let url = match (&self.url, &self.url_env) {
            (Some(url), None) => {
                if has_password(url) {
                    return Err(SourceError::Config(format!(
                        "the sql url of {} holds a password; put the URL in an environment \
                         variable and name it in url_env",
                        redact::url(url)
                    )));
                }
                url.clone()
            }
            (None, Some(variable)) => std::env::var(variable).map_err(|_| {
                SourceError::Config(format!(
                    "environment variable {variable} (the sql source's url_env) is not set"
                ))
            })?,
            _ => {
                return Err(SourceError::Config(
                    "a sql source needs exactly one of url and url_env".into(),
                ))
            }
        };
        // Positions and errors name the database as every URL is shown: no password.
        let label = redact::url(&url);
        Ok((url, label))
    }

    fn open_query(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        let (url, label) = self.url_and_label()?;
        let engine = Engine::of(&url).ok_or_else(|| {
            SourceError::Config(format!(
                "{label}: the sql url must start with postgres://, mysql:// or sqlite://"
            ))
        })?;
        let query = self.query.trim().trim_end_matches(';').trim().to_string();
        if query.is_empty() {
            return Err(SourceError::Config(format!("{label}: the query is empty")));
        }
        let request = Request {
            engine,
            url,
            base_dir: context.base_dir.to_path_buf(),
            query,
            cursor: context
                .incremental
                .map(|i| (i.field.to_string(), i.after.map(str::to_string))),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs.max(1)),
        };
        let reader =
            ReaderThread::spawn("sql-reader", READER_STOPPED, context.cancel, move |feed| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| SqlFailure::Query(format!("cannot start: {e}")))?
                    .block_on(request.read(feed))
            })
            .map_err(|source| SourceError::Io {
                path: label.clone(),
                source,
            })?;
        let failed = |failure: SqlFailure| source_failure(&label, failure);
        let header = match reader.next() {
            Next::Message(Message::Columns(names)) => Arc::new(Header::new(names)),
            Next::Failed(reason) => return Err(failed(reason)),
            Next::Cancelled => return Err(SourceError::Cancelled),
            Next::Message(Message::Rows(_)) | Next::Done => {
                return Err(failed(
                    "the reader stopped before the query's columns".into(),
                ))
            }
        };
        Ok(Box::new(SqlRecords {
            reader,
            label,
            header,
            row: 0,
            pending: Vec::new().into_iter(),
            finished: false,
        }))
    }
}

impl Source for SqlConfig {
    /// Connects, checks the query and the cursor column, and starts streaming. Errors
    /// found before the first row (no connection, a bad query) are returned here.
    fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        self.open_query(context)
    }

    fn local_paths(&self) -> Vec<LocalPath<'_>> {
        match self.url.as_deref().map(str::trim) {
            Some(url) if url.to_ascii_lowercase().starts_with("sqlite:") => {
                let rest = &url["sqlite:".len()..];
                let rest = rest.strip_prefix("//").unwrap_or(rest);
                vec![("url", rest.split('?').next().unwrap_or(rest))]
            }
            _ => Vec::new(),
        }
    }

    fn secret_vars(&self) -> Vec<SecretVar<'_>> {
        self.url_env
            .iter()
            .map(|v| ("url_env", v.as_str()))
            .collect()
    }

    fn literal_secrets(&self) -> Vec<String> {
        match &self.url {
            Some(url) if has_password(url) || redact::url_has_secret(url) => vec!["url".into()],
            _ => Vec::new(),
        }
    }

    fn redact(&mut self) {
        if let Some(url) = &mut self.url {
            *url = redact::url(url);
        }
        // The query describes a partner's own database; it is theirs to show.
        self.query = REDACTED.into();
    }
}

/// Why the reader stopped.
#[derive(Debug)]
enum SqlFailure {
    /// The database cannot be reached.
    Unreachable(String),
    /// The query cannot run or its rows cannot be read.
    Query(String),
}

impl From<&'static str> for SqlFailure {
    fn from(reason: &'static str) -> Self {
        SqlFailure::Query(reason.into())
    }
}

impl From<String> for SqlFailure {
    fn from(reason: String) -> Self {
        SqlFailure::Query(reason)
    }
}

/// A failure of the reader as a source error: a database that cannot be reached is
/// unreadable, anything else (a bad query, a column that is not text) is a source that
/// is not what the connector expects.
fn source_failure(label: &str, failure: SqlFailure) -> SourceError {
    match failure {
        SqlFailure::Unreachable(reason) => SourceError::Io {
            path: label.to_string(),
            source: std::io::Error::other(format!("cannot connect: {reason}")),
        },
        SqlFailure::Query(reason) => SourceError::Format {
            path: label.to_string(),
            format: "SQL source",
            reason,
        },
    }
}

fn has_password(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            parsed.password().is_some() || parsed.query_pairs().any(|(k, _)| k == "password")
        }
        Err(_) => false,
    }
}

/// What the reader thread sends.
enum Message {
    /// The query's column names, first.
    Columns(Vec<String>),
    /// Rows: each column's text, `None` where it could not be read as text.
    Rows(Vec<Vec<Result<Option<String>, String>>>),
}

const READER_STOPPED: &str = "the reader stopped unexpectedly";

/// Everything the reader thread needs.
struct Request {
    engine: Engine,
    url: String,
    base_dir: std::path::PathBuf,
    query: String,
    cursor: Option<(String, Option<String>)>,
    connect_timeout: Duration,
}

impl Request {
    async fn read(self, feed: &Feed<Message, SqlFailure>) -> Result<(), SqlFailure> {
        let connect_error = |e: sqlx::Error| SqlFailure::Unreachable(plain(&e));
        // One body per engine, as sqlx's connections and queries are typed by engine;
        // `$bind` binds the cursor, in text or (SQLite) in the column's own type.
        macro_rules! query_with {
            ($options:expr, $connection:ty, $db:ty, |$query:ident, $columns:ident, $types:ident| $bind:expr) => {{
                let mut conn: $connection = self.connect($options.connect()).await?;
                let ($columns, $types) = self.describe(&mut conn).await?;
                let sql = self.wrapped(&$columns, &$types)?;
                let $query = sqlx::query(&sql);
                let query = $bind;
                self.pump::<$db>($columns, query.fetch(&mut conn), feed)
                    .await
            }};
        }
        let text_cursor = self.cursor.as_ref().and_then(|(_, after)| after.clone());
        match self.engine {
            Engine::Postgres => query_with!(
                PgConnectOptions::from_str(&self.url).map_err(connect_error)?,
                PgConnection,
                sqlx::Postgres,
                |query, columns, types| match text_cursor {
                    Some(after) => query.bind(after),
                    None => query,
                }
            ),
            Engine::MySql => query_with!(
                MySqlConnectOptions::from_str(&self.url).map_err(connect_error)?,
                MySqlConnection,
                sqlx::MySql,
                |query, columns, types| match text_cursor {
                    Some(after) => query.bind(after),
                    None => query,
                }
            ),
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(&self.url).map_err(connect_error)?;
                let file = resolve(&self.base_dir, &options.get_filename().to_string_lossy());
                let options = options
                    .filename(file)
                    .read_only(true)
                    .create_if_missing(false);
                query_with!(
                    options,
                    SqliteConnection,
                    sqlx::Sqlite,
                    |query, columns, types| {
                        match &self.cursor {
                            Some((field, Some(after))) => {
                                let column_type = columns
                                    .iter()
                                    .position(|c| c == field)
                                    .map_or("", |i| types[i].as_str());
                                match CursorValue::for_sqlite(after, column_type) {
                                    CursorValue::Integer(i) => query.bind(i),
                                    CursorValue::Real(f) => query.bind(f),
                                    CursorValue::Text(t) => query.bind(t),
                                }
                            }
                            _ => query,
                        }
                    }
                )
            }
        }
    }

    async fn connect<C>(
        &self,
        connecting: impl std::future::Future<Output = Result<C, sqlx::Error>>,
    ) -> Result<C, SqlFailure> {
        match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(SqlFailure::Unreachable(plain(&e))),
            Err(_) => Err(SqlFailure::Unreachable(format!(
                "no answer within {} s",
                self.connect_timeout.as_secs()
            ))),
        }
    }

    /// The query's column names and database type names, from preparing it.
    async fn describe<'c, C>(
        &self,
        conn: &'c mut C,
    ) -> Result<(Vec<String>, Vec<String>), SqlFailure>
    where
        &'c mut C: Executor<'c>,
    {
        let statement = conn
            .prepare(&self.query)
            .await
            .map_err(|e| format!("the query fails: {}", plain(&e)))?;
        let columns: Vec<String> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        if columns.is_empty() {
            return Err("the query returns no columns (is it a SELECT?)".into());
        }
        // The wrapper selects columns by name, so each name must be one column.
        for (i, name) in columns.iter().enumerate() {
            if columns[..i].contains(name) {
                return Err(format!(
                    "the query returns two columns named \"{name}\"; give them distinct names with AS"
                )
                .into());
            }
        }
        let types = statement
            .columns()
            .iter()
            .map(|c| c.type_info().name().to_string())
            .collect();
        Ok((columns, types))
    }

    /// The query wrapped to return text, and for an incremental run only the rows past
    /// the cursor, in cursor order.
    fn wrapped(&self, columns: &[String], types: &[String]) -> Result<String, String> {
        let engine = self.engine;
        let select = columns
            .iter()
            .map(|c| engine.as_text(c))
            .collect::<Vec<_>>()
            .join(", ");
        // Line breaks keep a trailing `--` comment in the query from hiding the rest.
        let mut sql = format!("SELECT {select} FROM (\n{}\n) AS src", self.query);
        if let Some((field, after)) = &self.cursor {
            let Some(index) = columns.iter().position(|c| c == field) else {
                return Err(format!(
                    "the cursor_field \"{field}\" is not a column of the query (columns: {})",
                    columns.join(", ")
                ));
            };
            let column = format!("src.{}", engine.quote(field));
            if after.is_some() {
                // PostgreSQL compares only like with like: the cursor text goes back
                // into the column's own type, which wrote it.
                let value = match engine {
                    Engine::Postgres => {
                        format!("CAST($1 AS {})", pg_type(&types[index]))
                    }
                    Engine::MySql | Engine::Sqlite => "?".to_string(),
                };
                sql.push_str(&format!(" WHERE {column} > {value}"));
            }
            sql.push_str(&format!(" ORDER BY {column}"));
        }
        Ok(sql)
    }

    async fn pump<'q, DB: sqlx::Database>(
        &self,
        columns: Vec<String>,
        mut rows: futures::stream::BoxStream<'q, Result<DB::Row, sqlx::Error>>,
        feed: &Feed<Message, SqlFailure>,
    ) -> Result<(), SqlFailure>
    where
        for<'r> Option<String>: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
        usize: sqlx::ColumnIndex<DB::Row>,
    {
        let width = columns.len();
        if !feed.send(Message::Columns(columns)) {
            return Ok(());
        }
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| format!("reading rows failed: {}", plain(&e)))?
        {
            let cells = (0..width)
                .map(|i| {
                    row.try_get::<Option<String>, _>(i)
                        .map_err(|e| format!("not readable as text: {}", plain(&e)))
                })
                .collect();
            batch.push(cells);
            if batch.len() >= BATCH_ROWS {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                if !feed.send(Message::Rows(full)) {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() && !feed.send(Message::Rows(batch)) {
            return Ok(());
        }
        Ok(())
    }
}

/// A PostgreSQL type name fit for a CAST: sqlx spells built-in types in capitals
/// (`INT4`, `TIMESTAMPTZ`, `NUMERIC[]`), which PostgreSQL reads case-blind; any other
/// name (an enum `"Status"`) is quoted as the identifier it is.
fn pg_type(name: &str) -> String {
    let built_in = name
        .trim_end_matches("[]")
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == ' ');
    if built_in {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A database error in one line, without the URL sqlx sometimes repeats.
fn plain(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(e) => e.message().to_string(),
        other => other.to_string(),
    }
}

/// The run's side: rows into records.
struct SqlRecords {
    reader: ReaderThread<Message, SqlFailure>,
    label: String,
    header: Arc<Header>,
    row: u64,
    pending: std::vec::IntoIter<Vec<Result<Option<String>, String>>>,
    finished: bool,
}

impl Iterator for SqlRecords {
    type Item = Result<SourceItem, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(cells) = self.pending.next() {
                self.row += 1;
                return Some(Ok(self.item(cells)));
            }
            if self.finished {
                return None;
            }
            let failed = |failure: SqlFailure| source_failure(&self.label, failure);
            match self.reader.next() {
                Next::Message(Message::Rows(rows)) => self.pending = rows.into_iter(),
                Next::Done => self.finished = true,
                Next::Cancelled => {
                    self.finished = true;
                    return Some(Err(SourceError::Cancelled));
                }
                Next::Failed(reason) => {
                    self.finished = true;
                    return Some(Err(failed(reason)));
                }
                Next::Message(Message::Columns(_)) => {
                    self.finished = true;
                    return Some(Err(failed(READER_STOPPED.into())));
                }
            }
        }
    }
}

impl SqlRecords {
    fn position(&self) -> SourcePosition {
        SourcePosition::at_row(self.label.clone(), self.row)
    }

    fn item(&self, cells: Vec<Result<Option<String>, String>>) -> SourceItem {
        let mut texts = Vec::with_capacity(cells.len());
        for (i, cell) in cells.into_iter().enumerate() {
            match cell {
                Ok(text) => texts.push(Cell::Text(text.unwrap_or_default())),
                Err(reason) => {
                    let column = self.header.names().get(i).cloned().unwrap_or_default();
                    return SourceItem::Reject(Reject::new(
                        self.position().with_column(column),
                        None,
                        reason,
                    ));
                }
            }
        }
        SourceItem::Record(Record {
            position: self.position(),
            header: Arc::clone(&self.header),
            cells: texts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_in_user_info_and_options() {
        assert!(has_password("mysql://u:p@h/db"));
        assert!(has_password("postgres://u@h/db?password=p"));
        assert!(!has_password("postgres://u@h/db"));
    }

    #[test]
    fn passwords_in_url_and_missing_variables_are_config_errors() {
        let config = SqlConfig::new("postgres://u:hunter2@h/db", "SELECT 1");
        let error = config
            .url_and_label()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("holds a password"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let mut by_env = SqlConfig::new("", "SELECT 1");
        by_env.url = None;
        by_env.url_env = Some("ABE_TEST_SQL_URL_THAT_IS_NOT_SET".into());
        let error = by_env
            .url_and_label()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("ABE_TEST_SQL_URL_THAT_IS_NOT_SET"),
            "{error}"
        );
    }

    #[test]
    fn sqlite_cursors_bind_in_the_column_type() {
        let integer = CursorValue::for_sqlite("42", "INTEGER");
        assert!(matches!(integer, CursorValue::Integer(42)));
        assert!(matches!(
            CursorValue::for_sqlite("4.5", "REAL"),
            CursorValue::Real(_)
        ));
        assert!(matches!(
            CursorValue::for_sqlite("7", ""),
            CursorValue::Integer(7)
        ));
        let padded = CursorValue::for_sqlite("0042", "TEXT");
        assert!(matches!(padded, CursorValue::Text(t) if t == "0042"));
        assert!(matches!(
            CursorValue::for_sqlite("nan", "REAL"),
            CursorValue::Text(_)
        ));
        assert!(matches!(
            CursorValue::for_sqlite("2024-01-02 03:04:05", "DATETIME"),
            CursorValue::Text(_)
        ));
    }

    #[test]
    fn postgres_type_names_are_quoted_unless_built_in() {
        assert_eq!(pg_type("TIMESTAMPTZ"), "TIMESTAMPTZ");
        assert_eq!(pg_type("INT4[]"), "INT4[]");
        assert_eq!(pg_type("Status"), "\"Status\"");
    }
}
