//! The `ckan` source against a real HTTP server that implements `datastore_search`
//! the way CKAN (data.go.th) answers it.

mod support;

use abe_connectors::ckan::CkanConfig;
use abe_connectors::{Incremental, OpenContext, Source, SourceError};
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use support::{drain, serve, text, Drained, Hits};

const RESOURCE: &str = "5c1a4f2e-6b1d-4c1e-9a38-0d5f7e2b1c90";
const TOTAL: usize = 2_500;

/// Row `i` of the table, with CKAN's `_id`.
fn row(i: usize) -> Value {
    json!({
        "_id": i + 1,
        "province_code": if i.is_multiple_of(2) { "90" } else { "65" },
        "year": 2566,
        "out_of_school": (i * 7) % 1000,
        "note": if i.is_multiple_of(3) { Value::Null } else { json!("ตรวจแล้ว") },
    })
}

/// A `datastore_search` over `TOTAL` rows. It checks the resource id and, when `key` is
/// set, the `Authorization` header; `log` receives every query for the test to inspect.
fn portal(hits: Hits, key: Option<&'static str>, log: std::sync::mpsc::Sender<String>) -> String {
    let log = std::sync::Mutex::new(log);
    let log = std::sync::Arc::new(log);
    serve(Router::new().route(
        "/api/3/action/datastore_search",
        get(
            move |Query(q): Query<HashMap<String, String>>, headers: HeaderMap| {
                let hits = hits.clone();
                let log = log.clone();
                async move {
                    hits.hit();
                    if let Ok(log) = log.lock() {
                        let _ = log.send(serde_json::to_string(&q).unwrap_or_default());
                    }
                    if let Some(key) = key {
                        let got = headers.get("authorization").and_then(|v| v.to_str().ok());
                        if got != Some(key) {
                            return (
                                StatusCode::FORBIDDEN,
                                Json(json!({ "success": false, "error": {
                                    "__type": "Authorization Error",
                                    "message": "Access denied" } })),
                            )
                                .into_response();
                        }
                    }
                    if q.get("resource_id").map(String::as_str) != Some(RESOURCE) {
                        return (
                            StatusCode::NOT_FOUND,
                            Json(json!({ "help": "https://data.go.th/api/3/action/help_show",
                                "success": false, "error": {
                                "__type": "Not Found Error",
                                "message": "Not found: Resource was not found." } })),
                        )
                            .into_response();
                    }
                    let offset: usize = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(100);
                    let records: Vec<Value> = (offset.min(TOTAL)..(offset + limit).min(TOTAL))
                        .map(row)
                        .collect();
                    Json(json!({
                        "help": "https://data.go.th/api/3/action/help_show?name=datastore_search",
                        "success": true,
                        "result": {
                            "include_total": true,
                            "resource_id": RESOURCE,
                            // CKAN's declared order, which is not alphabetical.
                            "fields": [
                                { "type": "int", "id": "_id" },
                                { "type": "text", "id": "province_code" },
                                { "type": "int", "id": "year" },
                                { "type": "numeric", "id": "out_of_school" },
                                { "type": "text", "id": "note" }
                            ],
                            "records_format": "objects",
                            "records": records,
                            "limit": limit,
                            "offset": offset,
                            "total": TOTAL,
                            "_links": { "start": "/api/3/action/datastore_search", "next": "…" }
                        }
                    }))
                    .into_response()
                }
            },
        ),
    ))
}

fn read(config: &CkanConfig) -> Drained {
    drain(config.open(&OpenContext::full(Path::new("."))))
}

#[test]
fn datastore_search_reads_2500_records_in_three_pages_in_field_order() {
    let key = "ckan-token-3b9f1d-secret";
    std::env::set_var("ABE_TEST_CKAN_KEY", key);
    let hits = Hits::default();
    let (sender, queries) = std::sync::mpsc::channel();
    let base = portal(hits.clone(), Some(key), sender);
    let mut config = CkanConfig::new(format!("{base}/"), RESOURCE);
    config.api_key_env = Some("ABE_TEST_CKAN_KEY".into());
    let read = read(&config).ok();
    assert_eq!(read.records.len(), TOTAL);
    assert!(read.rejects.is_empty());
    assert_eq!(hits.count(), 3, "1000 + 1000 + 500, and the total ends it");
    let offsets: Vec<String> = queries
        .try_iter()
        .map(|q| {
            let q: HashMap<String, String> = serde_json::from_str(&q).expect("query");
            assert_eq!(q.get("limit").map(String::as_str), Some("1000"));
            q.get("offset").cloned().unwrap_or_default()
        })
        .collect();
    assert_eq!(offsets, ["0", "1000", "2000"]);

    let first = &read.records[0];
    assert_eq!(
        first.header.names(),
        ["province_code", "year", "out_of_school", "note"]
    );
    assert_eq!(text(first, "province_code"), "90");
    assert_eq!(text(first, "year"), "2566");
    assert_eq!(text(first, "note"), "");
    assert_eq!(
        first.position.file,
        format!("{base}/api/3/action/datastore_search?resource_id={RESOURCE}")
    );
    let last = &read.records[TOTAL - 1];
    assert_eq!(last.position.row, Some(TOTAL as u64));
    assert_eq!(
        text(last, "out_of_school"),
        format!("{}", (2_499 * 7) % 1000)
    );
    assert_eq!(text(last, "note"), "", "2499 is a multiple of 3: null");
    assert_eq!(text(&read.records[TOTAL - 2], "note"), "ตรวจแล้ว");
    assert!(std::sync::Arc::ptr_eq(&first.header, &last.header));
}

#[test]
fn unknown_resource_reports_ckans_message_and_the_url() {
    let hits = Hits::default();
    let (sender, _queries) = std::sync::mpsc::channel();
    let base = portal(hits.clone(), None, sender);
    let read = read(&CkanConfig::new(base.clone(), "no-such-resource"));
    let error = read.error();
    assert!(
        error.contains(&format!(
            "{base}/api/3/action/datastore_search?resource_id=no-such-resource"
        )),
        "{error}"
    );
    assert!(error.contains("HTTP 404 Not Found"), "{error}");
    assert!(
        error.contains("Not found: Resource was not found."),
        "{error}"
    );
    assert_eq!(hits.count(), 1, "404 is not retried");
}

#[test]
fn refused_api_key_is_reported_without_the_key() {
    let key = "ckan-token-wrong-77aa-secret";
    std::env::set_var("ABE_TEST_CKAN_WRONG_KEY", key);
    let (sender, _queries) = std::sync::mpsc::channel();
    let base = portal(Hits::default(), Some("the-right-key"), sender);
    let mut config = CkanConfig::new(base.clone(), RESOURCE);
    config.api_key_env = Some("ABE_TEST_CKAN_WRONG_KEY".into());
    let read = read(&config);
    let error = read.error();
    assert!(error.contains(&base), "{error}");
    assert!(error.contains("403 Forbidden: Access denied"), "{error}");
    assert!(!error.contains(key), "secret leaked: {error}");

    config.api_key_env = Some("ABE_TEST_CKAN_KEY_NOT_SET".into());
    let error = read_error(&config);
    assert!(
        error.contains("`ABE_TEST_CKAN_KEY_NOT_SET` (named by api_key_env) is not set"),
        "{error}"
    );
}

fn read_error(config: &CkanConfig) -> String {
    read(config).error().to_string()
}

#[test]
fn success_false_is_an_error_with_ckans_message() {
    let base = serve(Router::new().route(
        "/api/3/action/datastore_search",
        get(|| async {
            Json(json!({
                "success": false,
                "error": { "__type": "Validation Error", "message": "field \"x\" not in resource" }
            }))
        }),
    ));
    let error = read_error(&CkanConfig::new(base.clone(), RESOURCE));
    assert!(
        error.contains(&format!(
            "{base}/api/3/action/datastore_search?resource_id="
        )),
        "{error}"
    );
    assert!(
        error.contains("CKAN refused the request: field \"x\" not in resource"),
        "{error}"
    );
}

#[test]
fn a_portal_that_is_not_ckan_says_so() {
    let base = serve(Router::new().route(
        "/api/3/action/datastore_search",
        get(|| async { Json(json!({ "success": true, "result": { "count": 0 } })) }),
    ));
    let error = read_error(&CkanConfig::new(base.clone(), RESOURCE));
    assert!(error.contains(&base), "{error}");
    assert!(error.contains("no `result.fields`"), "{error}");
}

#[test]
fn incremental_runs_sort_by_the_cursor_field_and_filters_are_json() {
    let hits = Hits::default();
    let (sender, queries) = std::sync::mpsc::channel();
    let base = portal(hits.clone(), None, sender);
    let mut config = CkanConfig::new(base, RESOURCE);
    config.page_size = 32_000;
    config
        .filters
        .insert("province_code".into(), json!(["90", "65"]));
    let context = OpenContext {
        incremental: Some(Incremental {
            field: "ปีการศึกษา",
            after: Some("2565"),
        }),
        ..OpenContext::full(Path::new("."))
    };
    let read = drain(config.open(&context)).ok();
    assert_eq!(read.records.len(), TOTAL);
    assert_eq!(hits.count(), 1);
    let query: HashMap<String, String> =
        serde_json::from_str(&queries.recv().expect("query")).expect("json");
    assert_eq!(
        query.get("sort").map(String::as_str),
        Some("\"ปีการศึกษา\" asc")
    );
    let filters: Value =
        serde_json::from_str(query.get("filters").expect("filters")).expect("filters json");
    assert_eq!(filters, json!({ "province_code": ["90", "65"] }));
}

#[test]
fn page_size_outside_ckans_range_is_a_config_error() {
    for size in [0, 32_001] {
        let mut config = CkanConfig::new("https://data.go.th", RESOURCE);
        config.page_size = size;
        match config.open(&OpenContext::full(Path::new("."))) {
            Err(SourceError::Config(message)) => {
                assert!(
                    message.contains("page_size must be 1 to 32000"),
                    "{message}"
                );
                assert!(message.contains("https://data.go.th"), "{message}");
            }
            Err(other) => panic!("not a config error: {other}"),
            Ok(_) => panic!("page_size {size} accepted"),
        }
    }
}
