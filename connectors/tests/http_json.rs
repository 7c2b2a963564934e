//! The `http_json` source against real HTTP servers on loopback: each paging style,
//! authentication, retries, and the errors a person must be able to act on.

mod support;

use abe_connectors::http_json::{Auth, HttpJsonConfig, HttpMethod, Pagination};
use abe_connectors::{Incremental, OpenContext, Source, SourceConfig};
use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{drain, serve, text, Drained, Hits};

type Params = Query<HashMap<String, String>>;

/// Record `i` (0-based) of a small district list.
fn district(i: usize) -> Value {
    json!({ "code": format!("{}", 9001 + i), "name_th": format!("อำเภอ {i}"), "schools": 10 + i })
}

fn read(config: &HttpJsonConfig) -> Drained {
    drain(config.open(&OpenContext::full(Path::new("."))))
}

fn codes(drained: &Drained) -> Vec<String> {
    drained
        .records
        .iter()
        .map(|r| text(r, "code").to_string())
        .collect()
}

fn expected_codes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{}", 9001 + i)).collect()
}

#[test]
fn page_pagination_reads_three_pages_and_stops_at_the_empty_one() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/districts",
        get(move |Query(q): Params| {
            let h = h.clone();
            async move {
                h.hit();
                assert_eq!(q.get("per_page").map(String::as_str), Some("2"));
                assert_eq!(q.get("province").map(String::as_str), Some("90"));
                let page: usize = q.get("p").and_then(|p| p.parse().ok()).unwrap_or(0);
                let records: Vec<Value> = match page {
                    1..=3 => (0..2).map(|i| district((page - 1) * 2 + i)).collect(),
                    _ => Vec::new(),
                };
                Json(json!({ "data": records }))
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/districts"));
    config.records_path = "data".into();
    config.query.insert(
        "province".into(),
        abe_connectors::http_json::ParamValue::Integer(90),
    );
    config.pagination = Pagination::Page {
        param: "p".into(),
        start: 1,
        size_param: Some("per_page".into()),
        size: Some(2),
    };
    let read = read(&config).ok();
    assert_eq!(codes(&read), expected_codes(6));
    assert_eq!(hits.count(), 4, "three pages and the empty fourth");
    let last = &read.records[5];
    assert_eq!(last.position.row, Some(6));
    assert_eq!(last.position.file, format!("{base}/districts?province=90"));
    assert_eq!(text(last, "schools"), "15");
    assert_eq!(text(last, "name_th"), "อำเภอ 5");
}

#[test]
fn offset_pagination_advances_by_the_records_received() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/items",
        get(move |Query(q): Params| {
            let h = h.clone();
            async move {
                h.hit();
                let offset: usize = q.get("skip").and_then(|p| p.parse().ok()).unwrap_or(999);
                let limit: usize = q.get("take").and_then(|p| p.parse().ok()).unwrap_or(0);
                assert_eq!(limit, 2);
                let records: Vec<Value> = (offset..(offset + limit).min(5)).map(district).collect();
                Json(Value::Array(records))
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/items"));
    config.pagination = Pagination::Offset {
        offset_param: "skip".into(),
        limit_param: "take".into(),
        limit: 2,
    };
    let read = read(&config).ok();
    assert_eq!(codes(&read), expected_codes(5));
    assert_eq!(hits.count(), 4, "pages of 2, 2, 1 and the empty one");
}

#[test]
fn cursor_pagination_follows_the_cursor_until_it_is_null() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/items",
        get(move |Query(q): Params| {
            let h = h.clone();
            async move {
                h.hit();
                let (page, next) = match q.get("after").map(String::as_str) {
                    None => (0, json!("c-1")),
                    Some("c-1") => (1, json!("c-2")),
                    Some("c-2") => (2, Value::Null),
                    Some(other) => panic!("unexpected cursor {other}"),
                };
                Json(json!({
                    "items": [district(page * 2), district(page * 2 + 1)],
                    "meta": { "next_cursor": next }
                }))
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/items"));
    config.records_path = "items".into();
    config.pagination = Pagination::Cursor {
        cursor_path: "meta.next_cursor".into(),
        param: "after".into(),
    };
    let read = read(&config).ok();
    assert_eq!(codes(&read), expected_codes(6));
    assert_eq!(hits.count(), 3);
}

#[test]
fn cursor_pagination_stops_when_the_cursor_repeats() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/items",
        get(move |Query(q): Params| {
            let h = h.clone();
            async move {
                let n = h.hit();
                let page = if q.contains_key("after") { n - 1 } else { 0 };
                Json(json!({ "items": [district(page)], "next": "same" }))
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/items"));
    config.records_path = "items".into();
    config.pagination = Pagination::Cursor {
        cursor_path: "next".into(),
        param: "after".into(),
    };
    let read = read(&config).ok();
    assert_eq!(codes(&read), expected_codes(2));
    assert_eq!(hits.count(), 2);
}

#[test]
fn link_header_pagination_follows_rel_next_absolute_and_relative() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/v1/items",
        get(move |Query(q): Params, headers: HeaderMap| {
            let h = h.clone();
            async move {
                h.hit();
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let link = match page {
                    1 => format!(
                        "<http://{host}/v1/items?page=1>; rel=\"first\", \
                         <http://{host}/v1/items?page=2>; rel=\"next\""
                    ),
                    2 => "</v1/items?page=3>; rel=\"next\", </v1/items?page=1>; rel=\"prev\""
                        .to_string(),
                    _ => "</v1/items?page=2>; rel=\"prev\"".to_string(),
                };
                (
                    [(header::LINK, link)],
                    Json(json!([
                        district((page - 1) * 2),
                        district((page - 1) * 2 + 1)
                    ])),
                )
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/v1/items"));
    config.pagination = Pagination::LinkHeader {};
    let read = read(&config).ok();
    assert_eq!(codes(&read), expected_codes(6));
    assert_eq!(hits.count(), 3);
}

#[test]
fn endless_pagination_stops_at_max_pages_with_a_clear_error() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/endless",
        get(move |Query(q): Params| {
            let h = h.clone();
            async move {
                h.hit();
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                (
                    [(
                        header::LINK,
                        format!("</endless?page={}>; rel=\"next\"", page + 1),
                    )],
                    Json(json!([district(page)])),
                )
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/endless"));
    config.pagination = Pagination::LinkHeader {};
    config.max_pages = 5;
    let read = read(&config);
    let error = read.error();
    assert!(error.contains("endless pagination"), "{error}");
    assert!(error.contains("max_pages = 5"), "{error}");
    assert!(error.contains(&format!("{base}/endless")), "{error}");
    assert!(error.contains("page=6"), "names the next page: {error}");
    assert_eq!(read.records.len(), 5);
    assert_eq!(hits.count(), 5);
}

#[test]
fn page_numbers_the_server_ignores_end_at_the_repeated_page() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/clamped",
        get(move || {
            let h = h.clone();
            async move {
                h.hit();
                Json(json!([district(0), district(1)]))
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/clamped"));
    config.pagination = Pagination::Page {
        param: "page".into(),
        start: 1,
        size_param: None,
        size: None,
    };
    let read = read(&config).ok();
    assert_eq!(codes(&read), expected_codes(2), "the repeat is not loaded");
    assert_eq!(hits.count(), 2);
}

/// A server that answers `/secure` with one record when `header` is `expected`, and
/// otherwise 401 with a body that echoes what it got (as careless servers do).
fn guarded(header: &'static str, expected: String, hits: Hits) -> String {
    serve(Router::new().route(
        "/secure",
        get(move |headers: HeaderMap| {
            let hits = hits.clone();
            let expected = expected.clone();
            async move {
                hits.hit();
                let got = headers
                    .get(header)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                if got == expected {
                    Json(json!([district(0)])).into_response()
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        Json(json!({ "message": format!("bad credentials: {got}") })),
                    )
                        .into_response()
                }
            }
        }),
    ))
}

#[test]
fn bearer_token_from_the_environment_reaches_the_server() {
    let token = "tok-7f3a9c1e-bearer-secret";
    std::env::set_var("ABE_TEST_HTTP_BEARER", token);
    let hits = Hits::default();
    let base = guarded("authorization", format!("Bearer {token}"), hits.clone());
    let mut config = HttpJsonConfig::new(format!("{base}/secure"));
    config.auth = Some(Auth::Bearer {
        token_env: "ABE_TEST_HTTP_BEARER".into(),
    });
    let read = read(&config).ok();
    assert_eq!(read.records.len(), 1);
    assert!(!read.records[0].position.file.contains(token));
    assert_eq!(hits.count(), 1);
}

#[test]
fn api_key_header_from_the_environment_reaches_the_server() {
    let key = "key-19d2e0b4-api-secret";
    std::env::set_var("ABE_TEST_HTTP_API_KEY", key);
    let hits = Hits::default();
    let base = guarded("x-portal-key", key.to_string(), hits.clone());
    let mut config = HttpJsonConfig::new(format!("{base}/secure"));
    config.auth = Some(Auth::ApiKey {
        header: "X-Portal-Key".into(),
        key_env: "ABE_TEST_HTTP_API_KEY".into(),
    });
    let read = read(&config).ok();
    assert_eq!(read.records.len(), 1);
}

#[test]
fn basic_credentials_from_the_environment_reach_the_server() {
    std::env::set_var("ABE_TEST_HTTP_BASIC_USER", "hub-reader");
    std::env::set_var("ABE_TEST_HTTP_BASIC_PASSWORD", "Tr0ub4dor&3");
    let hits = Hits::default();
    // base64("hub-reader:Tr0ub4dor&3")
    let base = guarded(
        "authorization",
        "Basic aHViLXJlYWRlcjpUcjB1YjRkb3ImMw==".into(),
        hits.clone(),
    );
    let mut config = HttpJsonConfig::new(format!("{base}/secure"));
    config.auth = Some(Auth::Basic {
        user_env: "ABE_TEST_HTTP_BASIC_USER".into(),
        password_env: "ABE_TEST_HTTP_BASIC_PASSWORD".into(),
    });
    let read = read(&config).ok();
    assert_eq!(read.records.len(), 1);
}

#[test]
fn refused_credentials_are_reported_without_the_secret() {
    let token = "tok-0c4471aa-refused-secret";
    std::env::set_var("ABE_TEST_HTTP_REFUSED", token);
    let hits = Hits::default();
    let base = guarded(
        "authorization",
        "Bearer something-else".into(),
        hits.clone(),
    );
    let mut config = HttpJsonConfig::new(format!("{base}/secure"));
    config.auth = Some(Auth::Bearer {
        token_env: "ABE_TEST_HTTP_REFUSED".into(),
    });
    let read = read(&config);
    let error = read.error();
    assert!(error.contains(&format!("{base}/secure")), "{error}");
    assert!(error.contains("401 Unauthorized"), "{error}");
    assert!(error.contains("bad credentials"), "{error}");
    assert!(!error.contains(token), "secret leaked: {error}");
    assert_eq!(hits.count(), 1, "401 is not retried");
}

#[test]
fn missing_secret_variable_is_a_config_error_naming_it() {
    let hits = Hits::default();
    let base = guarded("authorization", "unused".into(), hits.clone());
    let mut config = HttpJsonConfig::new(format!("{base}/secure"));
    config.auth = Some(Auth::Basic {
        user_env: "ABE_TEST_HTTP_UNSET_USER_VAR".into(),
        password_env: "ABE_TEST_HTTP_UNSET_PASSWORD_VAR".into(),
    });
    let error = match config.open(&OpenContext::full(Path::new("."))) {
        Err(e @ abe_connectors::SourceError::Config(_)) => e.to_string(),
        Err(other) => panic!("not a config error: {other}"),
        Ok(_) => panic!("opened without credentials"),
    };
    assert!(
        error.contains("`ABE_TEST_HTTP_UNSET_USER_VAR`") && error.contains("is not set"),
        "{error}"
    );
    assert!(error.contains("auth.user_env"), "{error}");
    assert_eq!(hits.count(), 0, "nothing is sent without credentials");
}

#[test]
fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/busy",
        get(move || {
            let h = h.clone();
            async move {
                if h.hit() == 1 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, "1")],
                        "slow down",
                    )
                        .into_response()
                } else {
                    Json(json!([district(0)])).into_response()
                }
            }
        }),
    ));
    let started = Instant::now();
    let read = read(&HttpJsonConfig::new(format!("{base}/busy"))).ok();
    let elapsed = started.elapsed();
    assert_eq!(read.records.len(), 1);
    assert_eq!(hits.count(), 2);
    assert!(elapsed >= Duration::from_millis(950), "waited {elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "waited {elapsed:?}");
}

#[test]
fn server_errors_are_retried_with_backoff_then_succeed() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/flaky",
        get(move || {
            let h = h.clone();
            async move {
                if h.hit() <= 2 {
                    (StatusCode::INTERNAL_SERVER_ERROR, "database is down").into_response()
                } else {
                    Json(json!([district(0), district(1)])).into_response()
                }
            }
        }),
    ));
    let started = Instant::now();
    let read = read(&HttpJsonConfig::new(format!("{base}/flaky"))).ok();
    assert_eq!(read.records.len(), 2);
    assert_eq!(hits.count(), 3, "two failures and the success");
    // Backoff is 0.25-0.5 s, then 0.5-1 s.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[test]
fn server_errors_past_the_retries_fail_naming_status_and_attempts() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/down",
        get(move || {
            let h = h.clone();
            async move {
                h.hit();
                (StatusCode::SERVICE_UNAVAILABLE, "maintenance")
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/down"));
    config.retries = 1;
    let read = read(&config);
    let error = read.error();
    assert!(error.contains(&format!("{base}/down")), "{error}");
    assert!(error.contains("503 Service Unavailable"), "{error}");
    assert!(error.contains("maintenance"), "{error}");
    assert!(error.contains("gave up after 2 attempts"), "{error}");
    assert_eq!(hits.count(), 2);
}

#[test]
fn not_found_fails_at_once() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/missing",
        get(move || {
            let h = h.clone();
            async move {
                h.hit();
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({ "error": "no such dataset" })),
                )
            }
        }),
    ));
    let read = read(&HttpJsonConfig::new(format!("{base}/missing?year=2566")));
    let error = read.error();
    assert!(
        error.starts_with(&format!(
            "cannot read {base}/missing?year=2566: HTTP 404 Not Found: no such dataset"
        )),
        "{error}"
    );
    assert!(error.contains("not retried"), "{error}");
    assert_eq!(hits.count(), 1);
}

#[test]
fn html_error_page_is_reported_as_not_json() {
    let base = serve(Router::new().route(
        "/api",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "text/html")],
                "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head></html>",
            )
        }),
    ));
    let read = read(&HttpJsonConfig::new(format!("{base}/api")));
    let error = read.error();
    assert!(error.contains(&format!("{base}/api")), "{error}");
    assert!(
        error.contains("response is not JSON (starts with `<!DOCTYPE html> <html><head>"),
        "{error}"
    );
}

#[test]
fn json_that_is_not_an_array_names_the_path_and_what_was_found() {
    let base = serve(
        Router::new()
            .route(
                "/nested",
                get(|| async { Json(json!({ "result": { "records": { "code": "90" } } })) }),
            )
            .route("/object", get(|| async { Json(json!({ "code": "90" })) })),
    );
    let mut config = HttpJsonConfig::new(format!("{base}/nested"));
    config.records_path = "result.records".into();
    let error = read(&config).error().to_string();
    assert!(error.contains(&format!("{base}/nested")), "{error}");
    assert!(
        error.contains("records_path `result.records` is not an array (found object)"),
        "{error}"
    );

    config.records_path = "result.rows".into();
    let error = read(&config).error().to_string();
    assert!(
        error.contains("records_path `result.rows`: there is no `rows` in `result`"),
        "{error}"
    );

    let error = read(&HttpJsonConfig::new(format!("{base}/object")))
        .error()
        .to_string();
    assert!(error.contains(&format!("{base}/object")), "{error}");
    assert!(
        error.contains("top-level value is not an array (found object)"),
        "{error}"
    );
}

#[test]
fn nested_records_flatten_and_non_objects_become_rejects() {
    let base = serve(Router::new().route(
        "/api",
        get(|| async {
            Json(json!({
                "result": { "records": [
                    { "area": { "code": "90", "name": { "th": "สงขลา" } }, "tags": ["a", 1],
                      "count": 1144, "ratio": 0.25, "open": true, "note": null },
                    42,
                    { "area": { "code": "65" }, "count": 7, "area.code": "dup" },
                    { "area": { "code": "65" }, "survey": "2566" }
                ] }
            }))
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/api"));
    config.records_path = "result.records".into();
    let read = read(&config).ok();
    assert_eq!(read.records.len(), 2);
    let first = &read.records[0];
    // The header is the union of the page's keys, so `survey` (4th record) is in it.
    assert_eq!(
        first.header.names(),
        [
            "area.code",
            "area.name.th",
            "count",
            "note",
            "open",
            "ratio",
            "tags",
            "survey"
        ]
    );
    assert_eq!(text(first, "area.name.th"), "สงขลา");
    assert_eq!(text(first, "tags"), r#"["a",1]"#);
    assert_eq!(text(first, "count"), "1144");
    assert_eq!(text(first, "ratio"), "0.25");
    assert_eq!(text(first, "open"), "true");
    assert_eq!(text(first, "note"), "");
    assert_eq!(text(first, "survey"), "");
    assert_eq!(first.position.row, Some(1));
    let last = &read.records[1];
    assert_eq!(last.position.row, Some(4));
    assert_eq!(text(last, "survey"), "2566");

    assert_eq!(read.rejects.len(), 2);
    let not_object = &read.rejects[0];
    assert_eq!(not_object.position.row, Some(2));
    assert_eq!(
        not_object.position.column.as_deref(),
        Some("$.result.records[1]")
    );
    assert_eq!(not_object.value.as_deref(), Some("42"));
    assert!(not_object.reason.contains("not an object"));
    let clash = &read.rejects[1];
    assert_eq!(clash.position.row, Some(3));
    assert_eq!(clash.position.column.as_deref(), Some("area.code"));
}

#[test]
fn keys_new_on_a_later_page_extend_the_header() {
    let base = serve(Router::new().route(
        "/items",
        get(|Query(q): Params| async move {
            match q.get("page").map(String::as_str) {
                Some("1") => Json(json!([{ "code": "90", "count": 1 }])),
                Some("2") => Json(json!([{ "code": "91", "count": 2, "remark": "ใหม่" }])),
                _ => Json(json!([])),
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/items"));
    config.pagination = Pagination::Page {
        param: "page".into(),
        start: 1,
        size_param: None,
        size: None,
    };
    let read = read(&config).ok();
    assert_eq!(read.records.len(), 2);
    let (first, second) = (&read.records[0], &read.records[1]);
    assert_eq!(first.header.names(), ["code", "count"]);
    assert_eq!(second.header.names(), ["code", "count", "remark"]);
    assert!(!Arc::ptr_eq(&first.header, &second.header));
    assert_eq!(text(second, "remark"), "ใหม่");
}

#[test]
fn response_larger_than_max_response_bytes_is_refused() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/big",
        get(move || {
            let h = h.clone();
            async move {
                h.hit();
                Json(Value::Array((0..200).map(district).collect()))
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/big"));
    config.max_response_bytes = 1024;
    let read = read(&config);
    let error = read.error();
    assert!(error.contains(&format!("{base}/big")), "{error}");
    assert!(
        error.contains("larger than max_response_bytes = 1024 bytes"),
        "{error}"
    );
    assert_eq!(hits.count(), 1, "a size refusal is not retried");
}

#[test]
fn response_without_a_length_is_cut_at_max_response_bytes() {
    // A hand-written HTTP/1.1 server, because the body must come without a
    // Content-Length (until the connection closes) for the cap to act while reading.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(1) {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
            );
            for i in 0..2_000 {
                let _ = stream.write_all(format!("{{\"n\": {i}}},").as_bytes());
            }
            let _ = stream.write_all(b"{}]");
        }
    });
    let mut config = HttpJsonConfig::new(format!("http://{address}/stream"));
    config.max_response_bytes = 4096;
    let read = read(&config);
    let error = read.error();
    assert!(
        error.contains(&format!("http://{address}/stream")),
        "{error}"
    );
    assert!(
        error.contains("larger than max_response_bytes = 4096 bytes"),
        "{error}"
    );
}

#[test]
fn credentials_stay_with_the_configured_host_when_a_link_leads_elsewhere() {
    let token = "tok-5e8d21-origin-secret";
    std::env::set_var("ABE_TEST_HTTP_ORIGIN_TOKEN", token);
    let seen_elsewhere = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = seen_elsewhere.clone();
    let other = serve(Router::new().route(
        "/more",
        get(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                if let Ok(mut seen) = seen.lock() {
                    seen.extend(
                        headers
                            .get(header::AUTHORIZATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string),
                    );
                }
                Json(json!([district(1)]))
            }
        }),
    ));
    let base = serve(Router::new().route(
        "/first",
        get(move |headers: HeaderMap| {
            let other = other.clone();
            async move {
                let authorized = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    == Some("Bearer tok-5e8d21-origin-secret");
                assert!(authorized, "the configured host gets the token");
                (
                    [(header::LINK, format!("<{other}/more>; rel=\"next\""))],
                    Json(json!([district(0)])),
                )
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/first"));
    config.pagination = Pagination::LinkHeader {};
    config.auth = Some(Auth::Bearer {
        token_env: "ABE_TEST_HTTP_ORIGIN_TOKEN".into(),
    });
    let read = read(&config).ok();
    assert_eq!(codes(&read), expected_codes(2));
    let seen = seen_elsewhere.lock().expect("lock");
    assert!(seen.is_empty(), "the other host got {seen:?}");
}

#[test]
fn timeouts_are_retried_then_fail() {
    let hits = Hits::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/slow",
        get(move || {
            let h = h.clone();
            async move {
                h.hit();
                tokio::time::sleep(Duration::from_secs(5)).await;
                Json(json!([]))
            }
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/slow"));
    config.timeout_secs = 1;
    config.retries = 1;
    let started = Instant::now();
    let read = read(&config);
    let elapsed = started.elapsed();
    let error = read.error();
    assert!(error.contains(&format!("{base}/slow")), "{error}");
    assert!(error.contains("no response within 1 s"), "{error}");
    assert!(error.contains("gave up after 2 attempts"), "{error}");
    assert_eq!(hits.count(), 2);
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[test]
fn connection_refused_is_retried_then_fails_naming_the_url() {
    // Bind and drop, so the port is (very likely) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut config = HttpJsonConfig::new(format!("http://127.0.0.1:{port}/api"));
    config.retries = 1;
    let read = read(&config);
    let error = read.error();
    assert!(
        error.contains(&format!("http://127.0.0.1:{port}/api")),
        "{error}"
    );
    assert!(error.contains("cannot connect"), "{error}");
    assert!(error.contains("gave up after 2 attempts"), "{error}");
}

#[test]
fn local_json_files_read_by_relative_path_and_file_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A byte-order mark, as Windows tools save it.
    let areas = "\u{FEFF}{\"provinces\": [
        {\"code\": \"90\", \"name_th\": \"สงขลา\", \"region\": {\"th\": \"ภาคใต้\"}},
        {\"code\": \"65\", \"name_th\": \"พิษณุโลก\", \"region\": {\"th\": \"ภาคเหนือ\"}}
    ]}";
    std::fs::write(dir.path().join("areas.json"), areas).expect("write");
    let context = OpenContext::full(dir.path());

    let mut config = HttpJsonConfig::new("areas.json");
    config.records_path = "provinces".into();
    let read = drain(config.open(&context)).ok();
    assert_eq!(read.records.len(), 2);
    assert_eq!(text(&read.records[1], "name_th"), "พิษณุโลก");
    assert_eq!(text(&read.records[1], "region.th"), "ภาคเหนือ");
    assert_eq!(read.records[1].position.file, "areas.json");
    assert_eq!(read.records[1].position.row, Some(2));

    let url = format!("file://{}", dir.path().join("areas.json").display());
    let mut by_url = HttpJsonConfig::new(url.clone());
    by_url.records_path = "provinces".into();
    let read = drain(by_url.open(&OpenContext::full(Path::new("/nonexistent")))).ok();
    assert_eq!(read.records.len(), 2);
    assert_eq!(read.records[0].position.file, url);

    let error = drain(HttpJsonConfig::new("missing.json").open(&context))
        .error()
        .to_string();
    assert!(error.starts_with("cannot read missing.json"), "{error}");

    config.max_response_bytes = 100;
    let error = drain(config.open(&context)).error().to_string();
    assert!(
        error.contains("areas.json: the file is larger than max_response_bytes = 100"),
        "{error}"
    );

    let mut paged_file = HttpJsonConfig::new("areas.json");
    paged_file.pagination = Pagination::LinkHeader {};
    let error = drain(paged_file.open(&context)).error().to_string();
    assert!(
        error.contains("areas.json: a local JSON file takes no pagination"),
        "{error}"
    );
}

#[test]
fn incremental_runs_send_the_cursor_and_post_sends_the_body() {
    let base = serve(Router::new().route(
        "/search",
        post(|Query(q): Params, Json(body): Json<Value>| async move {
            assert_eq!(
                q.get("updated_after").map(String::as_str),
                Some("2024-05-01T00:00:00")
            );
            Json(json!({ "hits": [{ "echo": body, "since": q.get("updated_after") }] }))
        }),
    ));
    let mut config = HttpJsonConfig::new(format!("{base}/search"));
    config.method = HttpMethod::Post;
    config.body = Some(json!({ "province": "90" }));
    config.records_path = "hits".into();
    config.incremental_param = Some("updated_after".into());
    let context = OpenContext {
        incremental: Some(Incremental {
            field: "updated_at",
            after: Some("2024-05-01T00:00:00"),
        }),
        ..OpenContext::full(Path::new("."))
    };
    let read = drain(config.open(&context)).ok();
    assert_eq!(read.records.len(), 1);
    assert_eq!(text(&read.records[0], "echo.province"), "90");
    assert_eq!(
        read.records[0].position.file,
        format!("{base}/search"),
        "provenance does not change with the cursor"
    );

    // A body with GET is a mistake in the config.
    config.method = HttpMethod::Get;
    let error = drain(config.open(&context)).error().to_string();
    assert!(error.contains("invalid connector config"), "{error}");
    assert!(
        error.contains(&format!(
            "{base}/search: a body goes with method = \"POST\""
        )),
        "{error}"
    );
}

#[test]
fn toml_configs_parse_with_defaults_and_refuse_unknown_fields() {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        source: SourceConfig,
    }
    let parsed: Wrapper = toml::from_str(
        r#"
        [source]
        kind = "http_json"
        url = "https://api.example.go.th/v1/schools"
        records_path = "result.records"
        query = { province = "90", per = 100 }
        headers = { "Accept-Language" = "th" }
        auth = { kind = "api_key", key_env = "SCHOOLS_API_KEY" }
        pagination = { kind = "page", size_param = "per_page", size = 500 }
        incremental_param = "updated_after"
        "#,
    )
    .expect("parses");
    let SourceConfig::HttpJson(config) = &parsed.source else {
        panic!("wrong kind");
    };
    assert_eq!(parsed.source.kind(), "http_json");
    assert_eq!(config.method, HttpMethod::Get);
    assert_eq!(config.max_pages, 10_000);
    assert_eq!(config.timeout_secs, 30);
    assert_eq!(config.max_response_bytes, 50 * 1024 * 1024);
    assert_eq!(config.retries, 4);
    assert_eq!(
        config.auth,
        Some(Auth::ApiKey {
            header: "X-API-Key".into(),
            key_env: "SCHOOLS_API_KEY".into()
        })
    );
    assert_eq!(
        config.pagination,
        Pagination::Page {
            param: "page".into(),
            start: 1,
            size_param: Some("per_page".into()),
            size: Some(500)
        }
    );

    for bad in [
        "[source]\nkind = \"http_json\"\nurl = \"x.json\"\nrecord_path = \"a\"",
        "[source]\nkind = \"http_json\"\nurl = \"x.json\"\nauth = { kind = \"bearer\", token = \"inline-secret\" }",
        "[source]\nkind = \"http_json\"\nurl = \"x.json\"\npagination = { kind = \"link_header\", rel = \"next\" }",
        "[source]\nkind = \"ckan\"\nbase_url = \"https://data.go.th\"\nresource_id = \"r\"\npagesize = 10",
    ] {
        assert!(toml::from_str::<Wrapper>(bad).is_err(), "accepted: {bad}");
    }
}
