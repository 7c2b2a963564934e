//! All SQL of abe-hub, over SQLite (the embedded default) and PostgreSQL (production).
//! One [`Store`] answers every question the domain asks; inside, queries are shared
//! text with `$n` placeholders (both drivers accept them) bound from [`Param`]s, and a
//! backend match appears only where the dialects differ.

mod analytics;
mod catalog;
mod load;
mod params;
mod queries;
mod registry;
mod stored;

pub use analytics::{
    AlertChanges, AlertEvent, AlertFilter, AlertRecord, AreaNode, ConflictingFigure, Evaluated,
    Firing, IndicatorValue, ObservationSum, Scope, ValueFilter, ValueSource, MAX_ALERTS,
    MAX_VALUES,
};
pub use catalog::{
    ConnectorSpec, Dependents, Existing, OpenRun, Removal, RunEnd, RunLease, RunOutcome,
    RunRequest, RunSource, MAX_STORED_REJECTS,
};
pub use load::{Load, LoadCounts, OwnedElsewhere, Staged};
pub use params::Param;
pub use queries::*;
pub use registry::{
    ChangeRefused, ProblemFilter, ProblemRecord, ResourceFilter, ResourceRecord, SaveMode,
    API_WRITER, SEARCH_TEXT,
};

use abe_schema::{Code, ErrorCode};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::time::Duration;

/// Longest wait for a PostgreSQL connection before a call fails as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A load's merge of a national file takes seconds by design; warn only past this.
const SLOW_STATEMENT: Duration = Duration::from_secs(60);

/// Errors of the store, with the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL scheme in {0:?}: use sqlite://FILE or postgres://...")]
    UnsupportedUrl(String),
    /// A database call failed.
    #[error("{context}: {source}")]
    Database {
        /// What the store was doing.
        context: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A direct load met a key twice; reload with [`Store::begin_staged_load`], which
    /// keeps the later row.
    #[error("the source repeats a key; it must be loaded through the staging table")]
    DuplicateKey,
    /// A migration failed.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The run no longer holds its lease: another process abandoned it while this one
    /// stalled, and nothing of it was committed.
    #[error(
        "the run lost its lease (another process took it as abandoned); nothing was committed"
    )]
    LeaseLost,
}

impl ErrorCode for StoreError {
    fn error_code(&self) -> Code {
        match self {
            StoreError::Database { source, .. } if is_unavailable(source) => Code::Unavailable,
            StoreError::LeaseLost => Code::Abandoned,
            StoreError::UnsupportedUrl(_) => Code::ConfigInvalid,
            StoreError::Database { .. } | StoreError::DuplicateKey | StoreError::Migrate(_) => {
                Code::Internal
            }
        }
    }
}

/// Whether a driver error means the database cannot be reached (rather than a query
/// that failed).
fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
    )
}

/// Result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) trait Context<T> {
    fn context(self, what: impl Into<String>) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, what: impl Into<String>) -> Result<T> {
        self.map_err(|source| StoreError::Database {
            context: what.into(),
            source,
        })
    }
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The hub's database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// SQLite has one writer: the writers of this process (runs, computations) take
    /// turns here instead of failing on each other's locks.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once
/// per backend, so the same query text serves both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Connects to `url` (`sqlite://file.db`, created if missing, or `postgres://...`).
    pub async fn connect(url: &str) -> Result<Store> {
        let context = |what: &str| format!("{what} {}", redact_url(url));
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .context(context("parsing"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                // A run holds the write lock for its whole transaction; readers use WAL.
                .busy_timeout(Duration::from_secs(120))
                // 64 MiB of page cache per connection (default 2 MiB): a national load
                // walks indexes far larger than the default, and misses dominate.
                .pragma("cache_size", "-65536")
                .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .context(context("opening"))?;
            Ok(Store {
                pool: Pool::Sqlite(pool),
                writer: Default::default(),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)
                .context(context("parsing"))?
                .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT);
            let pool = PgPoolOptions::new()
                .max_connections(16)
                // During an outage a request fails after this, with UNAVAILABLE, rather
                // than hanging until the request's own time limit.
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .context(context("connecting to"))?;
            Ok(Store {
                pool: Pool::Postgres(pool),
                writer: Default::default(),
            })
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("../../migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// On SQLite, waits for this process's turn to write and holds it until the guard
    /// drops: a transaction that reads before it writes fails (SQLITE_BUSY_SNAPSHOT)
    /// when another commits in between, so writers of one process take turns. On
    /// PostgreSQL, returns at once.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.pool {
            Pool::Sqlite(_) => Some(self.writer.clone().lock_owned().await),
            Pool::Postgres(_) => None,
        }
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Answers when the database does. (`SELECT 1` is a 64-bit integer on SQLite and a
    /// 32-bit one on PostgreSQL, so nothing is decoded.)
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
            .context("pinging the database")
    }

    /// Tables and their columns, sorted, for checking that both backends agree.
    pub async fn table_columns(&self) -> Result<Vec<(String, String)>> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                // Ordinary tables only: the search index (an FTS5 virtual table and its
                // shadow tables) is SQLite's counterpart of a PostgreSQL index.
                "SELECT m.name, p.name FROM pragma_table_list m, pragma_table_info(m.name) p \
                 WHERE m.schema = 'main' AND m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name NOT LIKE '_sqlx%' ORDER BY 1, 2"
            }
            Backend::Postgres => {
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' ORDER BY 1, 2"
            }
        };
        on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await).context("listing tables")
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

pub use abe_schema::redact::url as redact_url;
