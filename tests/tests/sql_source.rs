//! The `sql` source against real databases: a SQLite file, a PostgreSQL database and a
//! MariaDB database created for the test. Typed columns arrive as the database's own
//! text, incremental reads ask the database for the rows past the cursor, and broken
//! queries or connections fail with the source named and no password shown.
//!
//! MariaDB is expected at `mysql://root@127.0.0.1:3306/test` (override with
//! `ABE_TEST_MYSQL_URL`); a developer without one may set `ABE_TEST_MYSQL=skip`, which
//! CI refuses.

use abe_connectors::sql::SqlConfig;
use abe_connectors::{Cell, Incremental, OpenContext, SourceConfig, SourceItem};
use abe_pipeline::{SyncMode, Trigger};
use abe_tests::fixtures::{dropouts_connector, loaded, seed_dropouts};
use abe_tests::{Backend, TestDb};
use sqlx::Connection;
use std::path::PathBuf;

/// A source database holding the `dropouts` table.
struct SourceDb {
    url: String,
    engine: Engine,
    _sqlite_dir: Option<tempfile::TempDir>,
    _postgres: Option<TestDb>,
    mysql_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

fn mysql_admin_url() -> String {
    std::env::var("ABE_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

fn mysql_skipped() -> bool {
    std::env::var("ABE_TEST_MYSQL").is_ok_and(|v| v == "skip")
}

const ROWS: [&str; 3] = [
    "(1, '9001', 2566, 12.50, '2024-01-02 03:04:05', 'ก')",
    "(2, '9011', 2566, 3, '2024-01-03 00:00:00', NULL)",
    "(3, '9001', 2565, 1234.5, '2024-01-04 12:00:00', 'สงขลา')",
];

impl SourceDb {
    async fn new(engine: Engine) -> SourceDb {
        let mut db = match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", dir.path().join("source.db").display());
                let options: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("sqlite url");
                let conn = sqlx::SqliteConnection::connect_with(&options.create_if_missing(true))
                    .await
                    .expect("create sqlite source");
                conn.close().await.expect("close");
                SourceDb {
                    url,
                    engine,
                    _sqlite_dir: Some(dir),
                    _postgres: None,
                    mysql_name: None,
                }
            }
            Engine::Postgres => {
                let test_db = TestDb::new(Backend::Postgres).await;
                SourceDb {
                    url: test_db.url.clone(),
                    engine,
                    _sqlite_dir: None,
                    _postgres: Some(test_db),
                    mysql_name: None,
                }
            }
            Engine::MySql => {
                let admin = mysql_admin_url();
                let mut conn = sqlx::MySqlConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "MariaDB/MySQL is not reachable at {} ({e}); start it, point \
                         ABE_TEST_MYSQL_URL at one, or set ABE_TEST_MYSQL=skip on this machine",
                            abe_store::redact_url(&admin)
                        )
                    });
                let name = format!(
                    "abe_src_{}_{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or(0)
                );
                sqlx::query(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                conn.close().await.expect("close");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                SourceDb {
                    url: format!("{base}/{name}"),
                    engine,
                    _sqlite_dir: None,
                    _postgres: None,
                    mysql_name: Some(name),
                }
            }
        };
        let (number, time) = match engine {
            Engine::Postgres => ("NUMERIC(10,2)", "TIMESTAMP"),
            Engine::MySql => ("DECIMAL(10,2)", "DATETIME"),
            Engine::Sqlite => ("REAL", "TEXT"),
        };
        db.execute(&format!(
            "CREATE TABLE dropouts (id INTEGER PRIMARY KEY, area VARCHAR(16), year INTEGER, \
             n {number}, updated_at {time}, note TEXT)"
        ))
        .await;
        db.execute(&format!("INSERT INTO dropouts VALUES {}", ROWS.join(", ")))
            .await;
        db
    }

    async fn execute(&mut self, sql: &str) {
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("postgres");
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
            }
            Engine::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("mysql");
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
            }
        }
    }

    async fn drop_database(self) {
        if let Some(name) = &self.mysql_name {
            let mut conn = sqlx::MySqlConnection::connect(&mysql_admin_url())
                .await
                .expect("mysql admin");
            sqlx::query(&format!("DROP DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("drop database");
        }
    }
}

/// Every record's cells as text, or the fatal error; read on a blocking thread.
async fn read(
    config: SqlConfig,
    cursor: Option<(&'static str, &'static str)>,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    tokio::task::spawn_blocking(move || {
        let base = PathBuf::from(".");
        let context = OpenContext {
            incremental: cursor.map(|(field, after)| Incremental {
                field,
                after: Some(after),
            }),
            ..OpenContext::full(&base)
        };
        let stream = SourceConfig::Sql(config)
            .source()
            .open(&context)
            .map_err(|e| e.to_string())?;
        let mut header = Vec::new();
        let mut rows = Vec::new();
        for item in stream {
            match item.map_err(|e| e.to_string())? {
                SourceItem::Record(record) => {
                    header = record.header.names().to_vec();
                    rows.push(
                        record
                            .cells
                            .iter()
                            .map(|c| match c {
                                Cell::Text(t) => t.clone(),
                                Cell::Error(e) => format!("error {e}"),
                            })
                            .collect(),
                    );
                }
                SourceItem::Reject(reject) => return Err(format!("reject: {reject}")),
            }
        }
        Ok((header, rows))
    })
    .await
    .expect("reader thread")
}

fn ids(rows: &[Vec<String>]) -> Vec<&str> {
    rows.iter().map(|r| r[0].as_str()).collect()
}

async fn check(engine: Engine) {
    let mut source = SourceDb::new(engine).await;
    let query = "SELECT id, area, year, n, updated_at, note FROM dropouts ORDER BY id;";

    // Typed columns come as the database writes them.
    let (header, rows) = read(SqlConfig::new(source.url.clone(), query), None)
        .await
        .expect("reads");
    assert_eq!(header, ["id", "area", "year", "n", "updated_at", "note"]);
    assert_eq!(ids(&rows), ["1", "2", "3"]);
    assert_eq!(rows[0][1..3], ["9001", "2566"]);
    let amounts: Vec<f64> = rows.iter().map(|r| r[3].parse().expect("number")).collect();
    assert_eq!(amounts, [12.5, 3.0, 1234.5]);
    assert_eq!(rows[0][4], "2024-01-02 03:04:05");
    assert_eq!((rows[0][5].as_str(), rows[1][5].as_str()), ("ก", ""));

    // A query ending in a line comment still reads.
    let commented = format!("{} -- every district", query.trim_end_matches(';'));
    let (_, rows) = read(SqlConfig::new(source.url.clone(), commented), None)
        .await
        .expect("a commented query reads");
    assert_eq!(rows.len(), 3);

    // Incremental: the database is asked only for rows past the cursor, whatever its type.
    for (field, after) in [("id", "1"), ("updated_at", "2024-01-02 03:04:05")] {
        let (_, rows) = read(
            SqlConfig::new(source.url.clone(), query),
            Some((field, after)),
        )
        .await
        .unwrap_or_else(|e| panic!("{engine:?} cursor {field}: {e}"));
        assert_eq!(ids(&rows), ["2", "3"], "{engine:?} cursor {field}");
    }

    // Through the pipeline: the second run reads only the row added since the first.
    let hub = TestDb::new(Backend::Sqlite).await;
    let store = hub.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pipeline = seed_dropouts(&store, dir.path()).await;
    let def = dropouts_connector(
        dir.path(),
        "lao_db",
        SourceConfig::Sql(SqlConfig::new(source.url.clone(), query)),
        SyncMode::Incremental,
    )
    .with_cursor_field(Some("id".into()))
    .expect("cursor");
    let first = pipeline
        .run(&def, Trigger::Manual)
        .await
        .expect("first run");
    assert_eq!((first.counts.read, first.counts.inserted), (3, 3));
    source
        .execute("INSERT INTO dropouts VALUES (4, '9011', 2565, 7, '2024-01-05 00:00:00', NULL)")
        .await;
    let second = pipeline
        .run(&def, Trigger::Manual)
        .await
        .expect("second run");
    assert_eq!((second.counts.read, second.counts.inserted), (1, 1));
    assert_eq!(loaded(&store, "lao_db").await.len(), 4);

    // Errors name the source, never its credentials.
    let label_host = match engine {
        Engine::Sqlite => "sqlite://",
        Engine::Postgres | Engine::MySql => "@127.0.0.1",
    };
    for (config, field, expected) in [
        (
            SqlConfig::new(source.url.clone(), "SELECT nope FROM missing_table"),
            None,
            "the query fails",
        ),
        (
            SqlConfig::new(source.url.clone(), "SELECT id, area AS id FROM dropouts"),
            None,
            "the query returns two columns named \"id\"",
        ),
        (
            SqlConfig::new(source.url.clone(), query),
            Some(("changed_at", "1")),
            "the cursor_field \"changed_at\" is not a column of the query (columns: id, area",
        ),
    ] {
        let error = read(config, field).await.err().unwrap_or_default();
        assert!(error.contains(expected), "{engine:?}: {error}");
        assert!(error.contains(label_host), "{engine:?}: {error}");
    }
    source.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_source() {
    check(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_source() {
    if abe_tests::postgres_skipped() {
        eprintln!("ABE_TEST_POSTGRES=skip: PostgreSQL source not tested");
        return;
    }
    check(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_source() {
    if mysql_skipped() {
        eprintln!("ABE_TEST_MYSQL=skip: MariaDB/MySQL source not tested");
        return;
    }
    check(Engine::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_databases_and_passwords_in_urls_are_clear_errors() {
    let missing = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            SqlConfig::new(
                format!("sqlite://{}", missing.path().join("none.db").display()),
                "SELECT 1",
            ),
            "cannot connect",
        ),
        (
            SqlConfig::new("postgres://reader@127.0.0.1:1/lao", "SELECT 1"),
            "cannot read postgres://reader@127.0.0.1:1/lao: cannot connect",
        ),
        (
            SqlConfig::new("mysql://reader:hunter2@127.0.0.1:1/lao", "SELECT 1"),
            "holds a password",
        ),
        (
            SqlConfig::new("oracle://127.0.0.1/lao", "SELECT 1"),
            "must start with postgres://, mysql:// or sqlite://",
        ),
    ];
    for (config, expected) in cases {
        let error = read(config, None).await.err().unwrap_or_default();
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
