//! Test harness: a fresh database per test on either backend, and the real hub started
//! in-process on 127.0.0.1:0. Every store and end-to-end test runs on both backends
//! through [`both_backends!`].
//!
//! PostgreSQL tests need a server (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! override with `ABE_TEST_POSTGRES_URL`); they fail when none answers. A developer
//! without one may set `ABE_TEST_POSTGRES=skip`; CI refuses that setting.

pub mod chaos;
pub mod fixtures;
pub mod web;

use abe_store::Store;
use anyhow::{Context, Result};
use serde_json::Value;
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A database engine under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite, in a temporary file.
    Sqlite,
    /// PostgreSQL, in a database created for the test.
    Postgres,
}

/// Whether PostgreSQL tests are switched off on this machine.
pub fn postgres_skipped() -> bool {
    std::env::var("ABE_TEST_POSTGRES").is_ok_and(|v| v == "skip")
}

fn admin_url() -> String {
    std::env::var("ABE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database, removed when dropped (unless `ABE_KEEP_TEST_DB` is set).
pub struct TestDb {
    /// URL to open it with.
    pub url: String,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDb {
    /// Creates the database; panics with a clear message when PostgreSQL is down.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}", dir.path().join("hub.db").display());
                TestDb {
                    url,
                    postgres_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = admin_url();
                let name = format!("abe_test_{}", unique_suffix());
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is not reachable at {} ({e}); start it, point ABE_TEST_POSTGRES_URL \
                         at one, or set ABE_TEST_POSTGRES=skip to skip these tests on this machine",
                        abe_store::redact_url(&admin)
                    )
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("creating the test database");
                let _ = conn.close().await;
                let url = match admin.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("ABE_TEST_POSTGRES_URL needs a database path"),
                };
                TestDb {
                    url,
                    postgres_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// Opens and migrates the store.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("opening the store");
        store.migrate().await.expect("migrating");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        if std::env::var_os("ABE_KEEP_TEST_DB").is_some() {
            eprintln!("kept test database {name}");
            return;
        }
        // Drop runs inside the test's runtime; a thread with its own runtime can block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin_url()).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Runs a test body once per backend: `both_backends!(name, |backend| async move {...})`
/// defines `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::postgres_skipped() {
                    eprintln!("ABE_TEST_POSTGRES=skip: PostgreSQL case not run");
                    return;
                }
                ($body)($crate::Backend::Postgres).await
            }
        }
    };
}

/// The demo's connectors (deploy/demo/hub.toml), in the order they are declared.
pub const DEMO_CONNECTORS: [&str; 8] = [
    "demo_areas",
    "demo_schools",
    "peo_students",
    "lao_out_of_school",
    "dopa_population",
    "ngo_poverty",
    "workshop_problems",
    "workshop_resources",
];

/// Path of a file in the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The hub running in-process on a free port, on its own database.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:43123`.
    pub base: String,
    /// The hub's store (a second handle on the same database).
    pub store: Store,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The admin token the hub was started with.
    pub admin_token: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<()>>>,
    _db: TestDb,
}

impl TestApp {
    /// Starts the hub with the config at `config` (a repository path).
    pub async fn spawn(backend: Backend, config: &str) -> TestApp {
        TestApp::spawn_with_token(backend, config, None).await
    }

    /// Starts the hub allowing changes through the API to requests bearing `token`.
    pub async fn spawn_with_token(backend: Backend, config: &str, token: Option<&str>) -> TestApp {
        TestApp::spawn_with_config(backend, &repo_path(config), token).await
    }

    /// Starts the hub with the config file at `config` (anywhere, e.g. a temporary
    /// folder) and an optional admin token.
    pub async fn spawn_with_config(
        backend: Backend,
        config: &std::path::Path,
        token: Option<&str>,
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let url = db.url.clone();
        TestApp::spawn_on(db, &url, config, token).await
    }

    /// Starts the hub on `db`, reached at `url` (the database's own, or a proxy's).
    pub async fn spawn_on(
        db: TestDb,
        url: &str,
        config: &std::path::Path,
        token: Option<&str>,
    ) -> TestApp {
        let store = abe_hub::startup::open_store(url)
            .await
            .expect("opening the store");
        let config = abe_hub::config::HubConfig::load(config).expect("config loads");
        let app = abe_hub::startup::Application::build(store.clone(), config, "127.0.0.1:0")
            .await
            .expect("hub starts")
            .with_admin_token(token.map(str::to_string));
        let base = format!("http://{}", app.address());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            store,
            client: reqwest::Client::new(),
            admin_token: token.map(str::to_string),
            stop: Some(stop),
            server: Some(server),
            _db: db,
        }
    }

    /// Posts a GraphQL query; returns `data`, failing on any GraphQL error.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql_raw(query, variables).await;
        if let Some(errors) = body.get("errors") {
            panic!("GraphQL errors: {errors}");
        }
        body["data"].clone()
    }

    /// Posts a GraphQL query with the admin token; returns `data`, failing on any
    /// GraphQL error.
    pub async fn graphql_as_admin(&self, query: &str, variables: Value) -> Value {
        let token = self
            .admin_token
            .as_deref()
            .expect("started with an admin token");
        let body = self.graphql_with_token(Some(token), query, variables).await;
        if let Some(errors) = body.get("errors") {
            panic!("GraphQL errors: {errors}");
        }
        body["data"].clone()
    }

    /// Posts a GraphQL query; returns the whole response body.
    pub async fn graphql_raw(&self, query: &str, variables: Value) -> Value {
        self.graphql_with_token(None, query, variables).await
    }

    /// Posts a GraphQL query with `Authorization: Bearer <token>` when given; returns
    /// the whole response body.
    pub async fn graphql_with_token(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self.client.post(format!("{}/graphql", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("JSON response")
    }

    /// Waits until every connector named has a finished run, or panics after `limit`.
    pub async fn wait_for_runs(&self, connectors: &[&str], limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let data = self
                .graphql(
                    "{ connectors { edges { node { name latestRun { status } } } } }",
                    Value::Null,
                )
                .await;
            let done = connectors.iter().all(|name| {
                data["connectors"]["edges"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| {
                        e["node"]["name"] == *name
                            && matches!(
                                e["node"]["latestRun"]["status"].as_str(),
                                Some("SUCCEEDED" | "FAILED")
                            )
                    })
            });
            if done {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("connectors {connectors:?} did not finish within {limit:?}: {data}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.context("server task")??;
        }
        Ok(())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
