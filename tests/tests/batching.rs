//! Nested lookups are batched: one query for a field of every item of a list, however
//! long the list. Its own test binary, because it counts the statements sqlx logs
//! through a subscriber that sees the whole process.

use abe_tests::{Backend, TestApp};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Counts the statements sqlx runs whose text mentions a table.
struct StatementCounter {
    table: &'static str,
    count: Arc<AtomicUsize>,
}

/// Collects an event's field values as text.
struct Text(String);

impl tracing::field::Visit for Text {
    fn record_debug(&mut self, _field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{value:?} "));
    }

    fn record_str(&mut self, _field: &tracing::field::Field, value: &str) {
        self.0.push_str(value);
        self.0.push(' ');
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        if text.0.contains(&format!("FROM {}", self.table)) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_of_every_indicator_are_read_in_one_query() {
    let count = Arc::new(AtomicUsize::new(0));
    tracing_subscriber::registry()
        .with(StatementCounter {
            table: "thresholds",
            count: Arc::clone(&count),
        })
        .init();
    // The demo's catalogue without its connectors: no run finishing during the query
    // makes the hub compute (and read thresholds) in the background.
    let mut config: toml::Table =
        std::fs::read_to_string(abe_tests::repo_path("deploy/demo/hub.toml"))
            .expect("demo config")
            .parse()
            .expect("TOML");
    config.remove("connectors");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, toml::to_string(&config).expect("TOML")).expect("write");
    let app = TestApp::spawn_with_config(Backend::Sqlite, &path, None).await;
    // The computation at start reads them once; wait until it has and nothing follows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut last = (count.load(Ordering::SeqCst), tokio::time::Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = count.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, tokio::time::Instant::now());
        } else if now > 0 && last.1.elapsed() > Duration::from_millis(500) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hub never read thresholds"
        );
    }
    let before = count.load(Ordering::SeqCst);
    let data = app
        .graphql(
            "{ indicators { edges { node { code thresholds { level warning critical } } } } }",
            Value::Null,
        )
        .await;
    let indicators = data["indicators"]["edges"].as_array().expect("edges");
    assert!(indicators.len() > 2, "{data}");
    assert!(
        indicators
            .iter()
            .any(|e| !e["node"]["thresholds"].as_array().expect("list").is_empty()),
        "{data}"
    );
    assert_eq!(
        count.load(Ordering::SeqCst) - before,
        1,
        "one query for the thresholds of {} indicators",
        indicators.len()
    );
    app.stop().await.expect("stops");
}
